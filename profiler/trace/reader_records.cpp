// Decoding the records of one verified chunk (format.h): one function per record type,
// chosen by a table indexed by ExtendedType; allocation-kind records are decoded inline.
#include "profiler/trace/reader_chunk.h"

#include <iterator>

namespace memopt::trace {

// The chunk's bytes (in buffer_ or inflated_) stay where they are until read_chunk is called
// again, which next() does only once this chunk's records are all decoded.
void TraceReader::start_chunk(const std::uint8_t* data, std::size_t size, std::uint64_t chunk_offset) {
    chunk_ = std::make_unique<Chunk>(Chunk{*this, ByteCursor{data, data + size}, data, size, chunk_offset});
    Chunk& chunk = *chunk_;
    if (!chunk.in.varint(chunk.tid) || !chunk.in.varint(chunk.seq)) corrupt(chunk_offset, "bad chunk header");
    bound_skipped_ranges(chunk.tid, chunk.seq);
    chunk_active_ = true;
}

void TraceReader::decode_record(Chunk& chunk) {
    const std::uint64_t head = chunk.varint();
    const auto kind = static_cast<RecordKind>(head & 7);
    const std::uint64_t value = head >> 3;
    if (kind != RecordKind::kExtended) {
        chunk.last_units += static_cast<std::uint64_t>(unzigzag(value));
        decode_allocation(chunk, kind, chunk.last_units << kAddressShift);
        return;
    }
    const RecordDecoder* decoders = record_decoders();
    const RecordDecoder decoder = value <= static_cast<std::uint64_t>(ExtendedType::kTracerNote) ? decoders[value] : nullptr;
    if (!decoder) chunk.fail("unknown record type");
    chunk.type = static_cast<ExtendedType>(value);
    (this->*decoder)(chunk);
}

const TraceReader::RecordDecoder* TraceReader::record_decoders() {
    static const RecordDecoder table[] = {
        nullptr,                               // 0: unused
        &TraceReader::decode_seq_skip,         // kSeqSkip
        &TraceReader::decode_unaligned,        // kUnaligned
        &TraceReader::decode_stack_ref,        // kStackRef
        &TraceReader::decode_rss,              // kRss
        &TraceReader::decode_phase,            // kPhaseBegin
        &TraceReader::decode_phase,            // kPhaseEnd
        &TraceReader::decode_thread_start,     // kThreadStart
        &TraceReader::decode_frame,            // kFrame
        &TraceReader::decode_module,           // kModule
        &TraceReader::decode_process_start,    // kProcessStart
        &TraceReader::decode_command,          // kCommand
        &TraceReader::decode_timed_value,      // kProcessExit
        &TraceReader::decode_exit_status,      // kExitStatus
        &TraceReader::decode_tracer_error,     // kTracerError
        &TraceReader::decode_timed_value,      // kFork
        &TraceReader::decode_mremap,           // kMremap
        &TraceReader::decode_python_code,      // kPythonCode
        &TraceReader::decode_python_frame,     // kPythonFrame
        &TraceReader::decode_build_id,         // kBuildId
        &TraceReader::decode_seq_void,         // kSeqVoid
        &TraceReader::decode_tracer_note,      // kTracerNote
    };
    static_assert(std::size(table) == static_cast<std::size_t>(ExtendedType::kTracerNote) + 1);
    return table;
}

void TraceReader::decode_allocation(Chunk& chunk, RecordKind kind, std::uint64_t address) {
    Event event;
    event.kind = kind;
    event.address = address;
    switch (kind) {
    case RecordKind::kFree: event.type = EventType::kFree; break;
    case RecordKind::kMmap: event.type = EventType::kMmap; break;
    case RecordKind::kMunmap: event.type = EventType::kMunmap; break;
    default: event.type = EventType::kAllocation; break;
    }
    if (kind != RecordKind::kFree) event.size = chunk.varint();
    event.stack = chunk.pending_stack;
    chunk.pending_stack = 0;
    push(std::move(chunk.sequenced(event)));
}

void TraceReader::decode_seq_skip(Chunk& chunk) { chunk.seq += chunk.varint(); }

// Numbers nobody used (a thread's unused block, tracer.h): arrived, wherever they are.
void TraceReader::decode_seq_void(Chunk& chunk) {
    const std::uint64_t first = chunk.varint();
    const std::uint64_t count = chunk.varint();
    if (count == 0 || first + count < first) chunk.fail("bad void range");
    voids_.push({first, first + count});
    skip_void_numbers();
}

void TraceReader::decode_unaligned(Chunk& chunk) {
    const std::uint8_t raw_kind = chunk.byte();
    const std::uint64_t address = chunk.varint();
    if (raw_kind >= static_cast<std::uint8_t>(RecordKind::kExtended)) chunk.fail("bad event kind");
    decode_allocation(chunk, static_cast<RecordKind>(raw_kind), address);
}

void TraceReader::decode_stack_ref(Chunk& chunk) { chunk.pending_stack = scoped_frame_id(chunk.varint()); }

void TraceReader::decode_rss(Chunk& chunk) {
    Event event;
    event.type = EventType::kRss;
    event.tid = static_cast<std::uint32_t>(chunk.tid);
    event.time_ns = chunk.varint();
    event.value = chunk.varint() * metadata_.page_size;
    event.seq = chunk.varint(); // the position it is ordered before, not a number of its own
    if (positioned_.size() > kMaxPositionedSamples) emit_positioned_samples();
    positioned_.push_back(event);
}

// kProcessExit and kFork: a time and one value.
void TraceReader::decode_timed_value(Chunk& chunk) {
    const bool exit = chunk.type == ExtendedType::kProcessExit;
    Event event;
    event.type = exit ? EventType::kProcessExit : EventType::kFork;
    event.time_ns = chunk.varint();
    event.value = chunk.varint();
    if (exit) {
        event.value *= 1024; // VmHWM is in KiB
        if (!metadata_.images.empty()) metadata_.images.back().exited = true;
    }
    push(std::move(chunk.sequenced(event)));
}

void TraceReader::decode_phase(Chunk& chunk) {
    const bool begin = chunk.type == ExtendedType::kPhaseBegin;
    Event event;
    event.type = begin ? EventType::kPhaseBegin : EventType::kPhaseEnd;
    event.time_ns = chunk.varint();
    event.name = intern_name(chunk.text());
    push(std::move(chunk.sequenced(event)));
}

void TraceReader::decode_mremap(Chunk& chunk) {
    Event event;
    event.type = EventType::kMremap;
    event.address = chunk.varint();
    event.size = chunk.varint();
    event.new_address = chunk.varint();
    event.new_size = chunk.varint();
    push(std::move(chunk.sequenced(event)));
}

void TraceReader::decode_thread_start(Chunk& chunk) {
    (void)chunk.varint(); // time_ns
    ++metadata_.threads;
    if (!metadata_.images.empty()) ++metadata_.images.back().threads;
}

} // namespace memopt::trace
