#include "profiler/trace/trace_rewriter.h"

#include "common/error.h"

#include <algorithm>

namespace memopt::trace {
namespace {

// Room for the fixed fields of any record (head and up to five varints).
constexpr std::size_t kRecordBytes = 6 * kMaxVarintSize;
// A chunk is closed past this payload: well under kMaxChunkPayload, which readers enforce.
constexpr std::size_t kChunkBudget = 1u << 20;

bool aligned(std::uint64_t address) { return (address & ((1u << kAddressShift) - 1)) == 0; }

} // namespace

TraceRewriter::TraceRewriter(const ProcessImage& image, std::uint64_t start_ns, std::uint64_t page_size,
                             std::uint64_t stack_sample_bytes)
    : out_(file_header()), page_size_(page_size ? page_size : 4096) {
    chunk(kRecordBytes)
        .extended(ExtendedType::kProcessStart)
        .varint(image.pid)
        .varint(image.ppid)
        .varint(start_ns)
        .byte(static_cast<std::uint8_t>(image.origin))
        .varint(page_size_)
        .varint(stack_sample_bytes);
    flush(false);
}

ChunkBuilder& TraceRewriter::chunk(std::size_t bytes) {
    if (chunk_ && chunk_bytes_ + bytes > kChunkBudget) flush(true);
    if (!chunk_) {
        chunk_.emplace(1, next_seq_);
        chunk_bytes_ = 0;
    }
    chunk_bytes_ += bytes;
    return *chunk_;
}

void TraceRewriter::flush(bool compress) {
    if (!chunk_) return;
    const auto bytes = compress ? chunk_->finish_compressed() : chunk_->finish();
    out_.insert(out_.end(), bytes.begin(), bytes.end());
    chunk_.reset();
}

void TraceRewriter::add(const Event& event, const TraceMetadata& meta) {
    switch (event.type) {
    case EventType::kAllocation: add_allocation(RecordKind::kMalloc, event); break;
    case EventType::kFree: add_allocation(RecordKind::kFree, event); break;
    case EventType::kMmap: add_allocation(RecordKind::kMmap, event); break;
    case EventType::kMunmap: add_allocation(RecordKind::kMunmap, event); break;
    case EventType::kImageStart: throw Error("a rewritten trace holds one process image: an exec cannot be written");
    default: add_extended_event(event, meta); break;
    }
}

// The allocation-kind records, with the stack reference that precedes a sampled one; an
// address that is not 16-aligned takes the kUnaligned form, as the preload writes it.
void TraceRewriter::add_allocation(RecordKind kind, const Event& event) {
    ChunkBuilder& out = chunk(2 * kRecordBytes);
    if (event.stack != 0 && kind != RecordKind::kFree && kind != RecordKind::kMunmap) {
        out.extended(ExtendedType::kStackRef).varint(event.stack);
        stacks_.insert(event.stack);
    }
    if (aligned(event.address)) {
        out.event(kind, event.address, event.size);
    } else {
        out.extended(ExtendedType::kUnaligned).byte(static_cast<std::uint8_t>(kind)).varint(event.address);
        if (kind != RecordKind::kFree) out.varint(event.size);
    }
    ++next_seq_;
}

void TraceRewriter::add_extended_event(const Event& event, const TraceMetadata& meta) {
    switch (event.type) {
    case EventType::kRss: // not sequenced: placed before the next numbered event
        chunk(kRecordBytes).extended(ExtendedType::kRss).varint(event.time_ns).varint(event.value / page_size_).varint(next_seq_);
        return;
    case EventType::kPhaseBegin:
    case EventType::kPhaseEnd: {
        const std::string& name = meta.names.at(event.name);
        const auto type = event.type == EventType::kPhaseBegin ? ExtendedType::kPhaseBegin : ExtendedType::kPhaseEnd;
        chunk(kRecordBytes + name.size()).extended(type).varint(event.time_ns).text(name);
        break;
    }
    case EventType::kMremap:
        chunk(kRecordBytes)
            .extended(ExtendedType::kMremap)
            .varint(event.address)
            .varint(event.size)
            .varint(event.new_address)
            .varint(event.new_size);
        break;
    case EventType::kFork: chunk(kRecordBytes).extended(ExtendedType::kFork).varint(event.time_ns).varint(event.value); break;
    case EventType::kProcessExit: // the reader hands out VmHWM in bytes; the record holds KiB
        chunk(kRecordBytes).extended(ExtendedType::kProcessExit).varint(event.time_ns).varint(event.value / 1024);
        break;
    default: throw Error("a rewritten trace cannot hold this event");
    }
    ++next_seq_;
}

std::vector<std::uint8_t> TraceRewriter::finish(const TraceMetadata& meta, const std::vector<const Module*>& modules) {
    flush(true);
    write_modules(modules);
    write_frames(meta);
    write_program(meta);
    flush(true);
    return std::move(out_);
}

std::vector<const Module*> distinct_modules(const TraceMetadata& meta, std::uint32_t image) {
    std::unordered_set<std::string> seen;
    std::vector<const Module*> kept;
    for (auto it = meta.modules.rbegin(); it != meta.modules.rend(); ++it) {
        if (it->image != image) continue;
        std::string key = std::to_string(it->base) + '\n' + it->path + '\n' + it->build_id;
        for (const auto& [vaddr, memsz] : it->segments) key += ' ' + std::to_string(vaddr) + ' ' + std::to_string(memsz);
        if (seen.insert(std::move(key)).second) kept.push_back(&*it);
    }
    std::reverse(kept.begin(), kept.end());
    return kept;
}

void TraceRewriter::write_modules(const std::vector<const Module*>& modules) {
    for (const Module* module : modules) {
        ChunkBuilder& out = chunk(kRecordBytes * (2 + module->segments.size()) + module->path.size() + module->build_id.size());
        out.extended(ExtendedType::kModule).varint(module->base).text(module->path).varint(module->segments.size());
        for (const auto& [vaddr, memsz] : module->segments) out.varint(vaddr).varint(memsz);
        if (!module->build_id.empty()) out.extended(ExtendedType::kBuildId).varint(module->base).text(module->build_id);
    }
}

// The frames of the events' stacks and their callers, and the Python code objects those
// frames run (each code before the frames using it, as the format asks).
void TraceRewriter::write_frames(const TraceMetadata& meta) {
    std::vector<std::uint64_t> ids;
    std::unordered_set<std::uint64_t> seen;
    for (std::uint64_t leaf : stacks_)
        for (std::uint64_t id = leaf; id != 0 && seen.insert(id).second;) {
            const auto it = meta.frames.find(id);
            if (it == meta.frames.end()) break;
            ids.push_back(id);
            id = it->second.parent;
        }
    std::sort(ids.begin(), ids.end());
    std::vector<std::uint64_t> codes;
    for (std::uint64_t id : ids) {
        const Frame& frame = meta.frames.at(id);
        if (frame.kind == FrameKind::kPython && frame.code != 0) codes.push_back(frame.code);
    }
    std::sort(codes.begin(), codes.end());
    codes.erase(std::unique(codes.begin(), codes.end()), codes.end());
    for (std::uint64_t id : codes) {
        const auto it = meta.python_code.find(id);
        if (it == meta.python_code.end()) continue;
        const PythonCode& code = it->second;
        chunk(kRecordBytes + code.file.size() + code.name.size())
            .extended(ExtendedType::kPythonCode)
            .varint(id)
            .varint(code.first_line)
            .text(code.file)
            .text(code.name);
    }
    for (std::uint64_t id : ids) {
        const Frame& frame = meta.frames.at(id);
        if (frame.kind == FrameKind::kPython)
            chunk(kRecordBytes).extended(ExtendedType::kPythonFrame).varint(id).varint(frame.parent).varint(frame.code).varint(frame.line);
        else // a native frame, or the [truncated] root (ip 0)
            chunk(kRecordBytes).extended(ExtendedType::kFrame).varint(id).varint(frame.parent).varint(frame.ip);
    }
}

void TraceRewriter::write_program(const TraceMetadata& meta) {
    if (!meta.command.empty()) {
        std::size_t bytes = kRecordBytes;
        for (const auto& word : meta.command) bytes += kMaxVarintSize + word.size();
        ChunkBuilder& out = chunk(bytes);
        out.extended(ExtendedType::kCommand).varint(meta.command.size());
        for (const auto& word : meta.command) out.text(word);
    }
    for (const auto& error : meta.tracer_errors)
        chunk(kRecordBytes + error.size()).extended(ExtendedType::kTracerError).text(error);
    if (exit_.known)
        chunk(kRecordBytes)
            .extended(ExtendedType::kExitStatus)
            .varint(static_cast<std::uint64_t>(exit_.exit_code))
            .varint(exit_.wall_ns)
            .varint(exit_.max_rss_kib)
            .byte(exit_.signaled ? 1 : 0);
}

} // namespace memopt::trace
