#pragma once
// Streaming trace reader: decodes chunks as it reads them and hands out events in the
// program's real order (the per-process sequence numbers), whatever thread wrote them.
// Memory stays bounded by the file buffer plus the events that arrived out of order.
#include "profiler/trace/format.h"

#include <cstdint>
#include <deque>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

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

struct Frame {
    std::uint64_t parent = 0;
    std::uint64_t ip = 0;
};

struct Module {
    std::uint64_t base = 0;
    std::string path;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> segments; // (vaddr, memsz)
};

struct ProcessImage {
    std::uint64_t pid = 0;
    std::uint64_t ppid = 0;
    std::uint64_t start_ns = 0;
    ProcessOrigin origin = ProcessOrigin::kLaunched;
};

struct ExitStatus {
    bool known = false;
    std::int64_t exit_code = 0;
    bool signaled = false;
    std::uint64_t wall_ns = 0;
    std::uint64_t max_rss_kib = 0;
};

struct TraceMetadata {
    std::vector<std::string> command;
    std::vector<ProcessImage> images;
    ExitStatus exit;
    std::uint64_t page_size = 4096;
    std::uint64_t stack_sample_bytes = 0;
    std::unordered_map<std::uint64_t, Frame> frames;
    std::vector<Module> modules;
    std::vector<std::string> names;
    std::vector<std::string> tracer_errors;
    std::uint64_t threads = 0;
};

class TraceReader {
  public:
    // Opens and checks the file header. Throws memopt::Error naming the file when it cannot
    // be read, is not a memopt trace, or has another format version.
    explicit TraceReader(const std::filesystem::path& path);
    ~TraceReader();
    TraceReader(const TraceReader&) = delete;
    TraceReader& operator=(const TraceReader&) = delete;

    // Next event in program order; false at the end. Throws memopt::Error on a corrupt chunk.
    bool next(Event& event);

    // Complete once next() has returned false (frames and modules may arrive late).
    const TraceMetadata& metadata() const { return metadata_; }
    // The file ended inside a chunk (killed process, full disk): what came before was read.
    bool truncated() const { return truncated_; }
    // Sequence numbers that never arrived (records lost with a killed thread's buffer).
    std::uint64_t missing_events() const { return missing_; }
    std::uint64_t bytes_read() const { return offset_; }
    std::uint64_t events_read() const { return events_; }

  private:
    struct ThreadQueue {
        std::uint32_t tid;
        std::deque<Event> events;
    };

    bool read_chunk();
    void decode_chunk(const std::uint8_t* data, std::size_t size, std::uint64_t chunk_offset);
    void push(Event&& event);
    void emit(Event&& event);           // to ready_, after the samples positioned before it
    void emit_positioned_samples();
    void drain(bool skip_gaps);
    [[noreturn]] void corrupt(std::uint64_t offset, const char* what) const;
    ThreadQueue& queue_for(std::uint32_t tid);
    std::uint32_t intern_name(std::string&& name);

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
    std::uint64_t next_seq_ = 0;
    bool seq_started_ = false;
    std::vector<Event> ready_; // in order, consumed from ready_position_
    std::deque<Event> positioned_; // RSS samples waiting for their place in the order
    std::size_t ready_position_ = 0;
    std::unordered_map<std::string, std::uint32_t> name_index_;
    TraceMetadata metadata_;
};

} // namespace memopt::trace
