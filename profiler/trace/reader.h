#pragma once
// Streaming trace reader: decodes chunks as it reads them and hands out events in the
// program's real order (the per-process sequence numbers), whatever thread wrote them.
// Memory stays bounded by the file buffer, one decompressed chunk, a batch of events being
// handed out (kReadyBatch) and the events that arrived out of order: 32 bytes each, at most
// kReorderWindow of them (33.5 MB); past that the gap is given up on, and what still
// arrives for it is handed out late and counted (TraceMetadata::late_events).
#include "profiler/trace/format.h"

#include <cstdint>
#include <cstddef>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

struct ZSTD_DCtx_s;

namespace memopt::trace {

enum class EventType : std::uint8_t {
    kAllocation,   // kind, address, size (malloc family)
    kFree,         // address
    kMmap,         // address, size
    kMunmap,       // address, size
    kMremap,       // address, size -> new_address, new_size
    kRss,          // time_ns, value = resident bytes
    kPhaseBegin,   // time_ns, name
    kPhaseEnd,     // time_ns, name
    kFork,         // time_ns, value = child pid
    kProcessExit,  // time_ns, value = VmHWM bytes
    kImageStart,   // a new process image began (exec): previous image's memory is gone
};

struct Event {
    std::uint64_t seq = 0;
    EventType type = EventType::kAllocation;
    RecordKind kind = RecordKind::kMalloc;
    std::uint32_t tid = 0;
    std::uint64_t address = 0;
    std::uint64_t size = 0;
    std::uint64_t new_address = 0;
    std::uint64_t new_size = 0;
    std::uint64_t time_ns = 0;
    std::uint64_t value = 0;
    std::uint64_t stack = 0;      // leaf frame id, 0 = none
    std::uint32_t name = 0;       // index into TraceMetadata::names
};

// Frame ids in TraceMetadata::frames and Event::stack are the reader's, unique across the
// whole file: the writer's ids restart in each process image (after exec), so the reader
// renumbers them per image and records which image a frame and a module belong to.
enum class FrameKind : std::uint8_t {
    kNative,    // ip
    kPython,    // code (a key of TraceMetadata::python_code, 0: unknown) and line (0: none)
    kTruncated, // the root of a stack cut at the recording's depth limit
};

struct Frame {
    std::uint64_t parent = 0;
    std::uint64_t ip = 0;
    std::uint32_t image = 0; // index into TraceMetadata::images
    FrameKind kind = FrameKind::kNative;
    std::uint64_t code = 0;
    std::uint32_t line = 0;
};

// A Python code object of the recorded program (kPythonCode).
struct PythonCode {
    std::string file;
    std::string name; // qualified name (Class.method)
    std::uint32_t first_line = 0;
};

struct Module {
    std::uint32_t image = 0; // index into TraceMetadata::images
    std::uint64_t base = 0;
    std::string path;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> segments; // (vaddr, memsz)
    std::string build_id; // raw bytes of its GNU build-id; empty: not recorded
};

struct ProcessImage {
    std::uint64_t pid = 0;
    std::uint64_t ppid = 0;
    std::uint64_t start_ns = 0;
    ProcessOrigin origin = ProcessOrigin::kLaunched;
    bool exited = false;      // its kProcessExit arrived (else it was killed or stopped tracing)
    std::uint64_t threads = 0; // threads that wrote a kThreadStart in this image
};

// Bytes the reader could not use: a chunk whose checksum failed (skipped up to the next chunk
// that verifies) or the file's cut-off tail. The chunk's own tid and first_seq are kept when
// they parse (a hint only: they are inside the damaged bytes).
struct SkippedChunk {
    std::uint64_t offset = 0; // file offset of the first skipped byte
    std::uint64_t bytes = 0;
    bool truncated_tail = false; // the file ends inside this chunk
    bool header_known = false;
    std::uint32_t image = 0;
    std::uint64_t tid = 0;
    std::uint64_t first_seq = 0;
    // Events that may have been in it, known once next() has returned false: the sequence
    // numbers of its range that never arrived, else its size at the file's bytes per event.
    std::uint64_t lost_events = 0;
    bool lost_events_exact = false; // counted from missing sequence numbers, not estimated
};

struct ExitStatus {
    bool known = false;
    std::int64_t exit_code = 0;
    bool signaled = false;
    std::uint64_t wall_ns = 0;
    std::uint64_t max_rss_kib = 0;
};

// A kTracerNote: data the tracer could not keep while tracing went on.
struct TracerNoteRecord {
    std::uint32_t image = 0;    // index into TraceMetadata::images
    std::uint64_t note = 0;     // a TracerNote, or a number this reader does not know
    std::uint64_t count = 0;    // stacks sampled / code objects held when it happened
};

struct TraceMetadata {
    std::vector<std::string> command;
    std::vector<ProcessImage> images;
    ExitStatus exit;
    std::uint64_t page_size = 4096;
    std::uint64_t stack_sample_bytes = 0;
    std::unordered_map<std::uint64_t, Frame> frames;
    // Reader ids, unique across the file like frame ids (the writer's restart per image).
    std::unordered_map<std::uint64_t, PythonCode> python_code;
    std::vector<Module> modules;
    std::vector<std::string> names;
    std::vector<std::string> tracer_errors;
    std::vector<TracerNoteRecord> tracer_notes;
    std::uint64_t threads = 0;
    std::uint16_t format_version = kFormatVersion;
    std::vector<SkippedChunk> skipped;
    // Missing sequence numbers not explained by a skipped chunk: events taken by the program
    // whose records never reached the file (a buffer lost with a killed process, a thread
    // the tracer could not give a buffer).
    std::uint64_t unexplained_missing = 0;
    // Events that arrived after the reader had given up waiting for their numbers (more than
    // its window of about a million events was waiting behind them): handed out later than
    // events that followed them, so the figures they touch may be off.
    std::uint64_t late_events = 0;
};

class TraceReader {
  public:
    // Opens and checks the file header. Throws memopt::Error naming the file when it cannot
    // be read, is not a memopt trace, or has another format version.
    explicit TraceReader(const std::filesystem::path& path);
    ~TraceReader();
    TraceReader(const TraceReader&) = delete;
    TraceReader& operator=(const TraceReader&) = delete;

    // Next event in program order; false at the end. A chunk whose checksum fails is skipped
    // and listed in metadata().skipped. Throws memopt::Error on a chunk that verifies but
    // does not decode, and on any corruption in a version-1 trace (no checksums).
    bool next(Event& event);

    // Complete once next() has returned false (frames and modules may arrive late).
    const TraceMetadata& metadata() const { return metadata_; }
    // The file ended inside a chunk (killed process, full disk): what came before was read.
    bool truncated() const { return truncated_; }
    // Sequence numbers that never arrived (skipped chunks, buffers never written).
    std::uint64_t missing_events() const { return missing_; }
    std::uint64_t bytes_read() const { return offset_; }
    std::uint64_t events_read() const { return events_; }
    // Events that may wait for an earlier sequence number before its gap is given up on.
    static constexpr std::size_t kReorderWindow = std::size_t{1} << 20;

  private:
    // Past this many events waiting for a lost sequence number, the gap is given up on.
    static constexpr std::size_t kMaxPendingEvents = kReorderWindow;
    // RSS samples waiting for their position past this many go out at once (their times
    // still order them on the timeline): a sampler without program events must not pile up.
    static constexpr std::size_t kMaxPositionedSamples = 1u << 16;
    // Events collected in ready_ before they are handed out (about 90 KB).
    static constexpr std::size_t kReadyBatch = 1024;
    // An event waiting in the reordering window, in 32 bytes rather than an Event's 88: the
    // allocation events that make up nearly all of it fit; the rest (phase marks, mremap,
    // fork, exit) wait whole in their queue's `whole` list, in the same order.
    struct PendingEvent {
        std::uint64_t seq;
        std::uint64_t address;
        std::uint64_t size;
        std::uint64_t packed; // stack << 8 | whole << 7 | EventType << 3 | RecordKind
    };
    // Stack ids are the reader's own, counted from 1: 56 bits are plenty.
    static_assert(sizeof(PendingEvent) == 32);
    struct ThreadQueue {
        std::uint32_t tid;
        std::deque<PendingEvent> events;
        std::deque<Event> whole;
    };
    // A non-empty queue's first sequence number, for the heap of queue fronts.
    using QueueFront = std::pair<std::uint64_t, std::uint32_t>; // (seq, index into queues_)
    struct Chunk; // one chunk being decoded (reader_chunk.h)
    struct Gap {  // sequence numbers given up on
        std::uint32_t image;
        std::uint64_t from, to; // [from, to)
    };
    enum class Framing { kComplete, kNeedMore, kInvalid };
    using RecordDecoder = void (TraceReader::*)(Chunk&);

    // Framing (reader_framing.cpp): find, verify and skip chunks in the file buffer.
    bool read_chunk();
    Framing frame_at(std::size_t at, std::size_t& header, std::uint64_t& length) const;
    bool verifies(std::size_t at, std::size_t header, std::uint64_t length) const;
    bool fill_buffer(std::size_t needed);
    bool verified_chunk_follows(std::size_t size);
    void advance(std::size_t bytes);
    void begin_skip(bool incomplete);
    void end_skip(bool at_eof);
    void bound_skipped_ranges(std::uint64_t tid, std::uint64_t first_seq);
    void decode_compressed_chunk(const std::uint8_t* data, std::size_t size, std::uint64_t chunk_offset);

    // Records (reader_records.cpp): one decoder per record type. A chunk is decoded a record
    // at a time, as next() needs events (start_chunk makes it current).
    void start_chunk(const std::uint8_t* data, std::size_t size, std::uint64_t chunk_offset);
    void decode_record(Chunk& chunk);
    void decode_allocation(Chunk& chunk, RecordKind kind, std::uint64_t address);
    void decode_seq_skip(Chunk& chunk);
    void decode_seq_void(Chunk& chunk);
    void decode_unaligned(Chunk& chunk);
    void decode_stack_ref(Chunk& chunk);
    void decode_rss(Chunk& chunk);
    void decode_timed_value(Chunk& chunk);
    void decode_phase(Chunk& chunk);
    void decode_mremap(Chunk& chunk);
    void decode_thread_start(Chunk& chunk);
    void decode_frame(Chunk& chunk);
    void decode_python_code(Chunk& chunk);
    void decode_python_frame(Chunk& chunk);
    void decode_module(Chunk& chunk);
    void decode_build_id(Chunk& chunk);
    void decode_process_start(Chunk& chunk);
    void decode_command(Chunk& chunk);
    void decode_exit_status(Chunk& chunk);
    void decode_tracer_error(Chunk& chunk);
    void decode_tracer_note(Chunk& chunk);
    void start_new_image();
    std::uint64_t scoped_frame_id(std::uint64_t writer_id);
    std::uint64_t scoped_code_id(std::uint64_t writer_id);
    static const RecordDecoder* record_decoders();

    // Ordering (reader.cpp): merge the threads' chunks by sequence number, handing events
    // out in batches of at most kReadyBatch as they become due (no chunk is collected whole).
    bool advance_order(); // refills ready_; false at the end
    bool order_step();
    void push(Event&& event);
    void emit(Event&& event);           // to ready_, after the samples positioned before it
    void emit_positioned_samples();
    bool release_due();                 // emits the lowest waiting event if due
    bool give_up_gap();                 // next_seq_ to the lowest number waiting
    void queue_event(ThreadQueue& queue, Event&& event);
    Event unqueue_event(ThreadQueue& queue);
    void finish_losses();
    void close_open_gaps();
    bool forget_late_arrival(std::uint64_t seq, std::uint64_t count = 1);
    bool skip_void_numbers(); // past void numbers at next_seq_; true when it moved
    [[noreturn]] void corrupt(std::uint64_t offset, const char* what) const;
    ThreadQueue& queue_for(std::uint32_t tid);
    std::uint32_t intern_name(std::string&& name);
    std::uint32_t current_image() const;

    std::filesystem::path path_;
    int fd_ = -1;
    std::vector<std::uint8_t> buffer_;
    std::size_t buffer_begin_ = 0;
    std::size_t buffer_end_ = 0;
    std::uint64_t offset_ = 0; // file offset of buffer_[buffer_begin_]
    bool eof_ = false;
    bool truncated_ = false;
    std::uint64_t missing_ = 0;
    std::uint64_t events_ = 0;

    std::vector<ThreadQueue> queues_;
    std::size_t pending_ = 0;
    std::size_t last_queue_ = 0;
    // Fronts of the non-empty queues, lowest first, except the queue being taken from
    // (run_queue_), whose consecutive numbers need no heap operation each.
    std::priority_queue<QueueFront, std::vector<QueueFront>, std::greater<>> fronts_;
    static constexpr std::uint32_t kNoQueue = ~0u;
    std::uint32_t run_queue_ = kNoQueue;
    std::uint64_t next_seq_ = 0;
    std::vector<Event> ready_; // in order, consumed from ready_position_; about a batch
    std::deque<Event> positioned_; // RSS samples waiting for their place in the order
    std::size_t ready_position_ = 0;
    std::unique_ptr<Chunk> chunk_; // being decoded; its bytes stay put until it is done
    bool chunk_active_ = false;
    bool at_eof_ = false;          // read_chunk found no more chunks
    // A kProcessStart of a new image (exec) waits here until the old image's events are out.
    std::unique_ptr<ProcessImage> next_image_;
    std::unordered_map<std::string, std::uint32_t> name_index_;
    TraceMetadata metadata_;

    bool checksummed_ = true;    // version 2: chunks carry a checksum
    bool skipping_ = false;      // looking for the next chunk that verifies
    bool finished_ = false;      // end of file seen and losses estimated
    std::vector<Gap> gaps_; // of earlier images, and of all once the file is read
    std::map<std::uint64_t, std::uint64_t> open_gaps_; // current image: from -> to
    std::uint64_t late_events_ = 0; // given up on, then arrived: handed out out of order
    // kSeqVoid ranges [first, end) not yet reached, lowest first; numbers skipped as void in
    // the current image (Event::seq leaves them out).
    using VoidRange = std::pair<std::uint64_t, std::uint64_t>;
    std::priority_queue<VoidRange, std::vector<VoidRange>, std::greater<>> voids_;
    std::uint64_t voided_ = 0;
    // Writer frame id -> reader frame id, for the current process image.
    std::unordered_map<std::uint64_t, std::uint64_t> frame_ids_;
    std::uint64_t next_frame_id_ = 1;
    std::unordered_map<std::uint64_t, std::uint64_t> code_ids_; // the same for Python code ids
    std::uint64_t next_code_id_ = 1;
    // Per metadata_.skipped entry: first_seq of the next verified chunk of the same thread
    // and image, which bounds the sequence numbers the skipped chunk can have held (~0: none).
    std::vector<std::uint64_t> skip_range_end_;
    bool skip_started_incomplete_ = false; // the skip began at a chunk the file ends inside
    std::uint64_t decoded_events_ = 0;     // sequenced events in verified chunks
    std::uint64_t decoded_bytes_ = 0;      // bytes of verified chunks
    // Compressed chunks: one decompression context, and the chunk's body once decompressed
    // (at most kMaxChunkPayload bytes, so reading stays bounded).
    struct FreeDecompressor {
        void operator()(ZSTD_DCtx_s* context) const; // reader_framing.cpp
    };
    std::unique_ptr<ZSTD_DCtx_s, FreeDecompressor> decompressor_;
    std::vector<std::uint8_t> inflated_;
};

} // namespace memopt::trace
