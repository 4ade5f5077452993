#include "profiler/trace/reader.h"

#include "common/error.h"
#include "profiler/trace/encoding.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/std.h>
#include <unistd.h>

namespace memopt::trace {
namespace {

constexpr std::size_t kReadSize = 1 << 20;
// Past this many events waiting for a lost sequence number, the gap is given up on.
constexpr std::size_t kMaxPendingEvents = 1u << 20;

} // namespace

TraceReader::TraceReader(const std::filesystem::path& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0)
        throw Error(fmt::format("cannot open trace {}: {}", path, std::strerror(errno)));
    std::uint8_t header[kFileHeaderSize];
    std::size_t got = 0;
    while (got < sizeof header) {
        const ssize_t n = ::read(fd_, header + got, sizeof header - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += static_cast<std::size_t>(n);
    }
    if (got >= sizeof kMagic && std::memcmp(header, kMagic, sizeof kMagic) != 0) {
        ::close(fd_);
        throw Error(fmt::format("{} is not a memopt trace (bad magic)", path));
    }
    if (got < sizeof header) {
        ::close(fd_);
        throw Error(fmt::format("trace {} is truncated: {} bytes, shorter than its header", path, got));
    }
    const std::uint16_t version = static_cast<std::uint16_t>(header[8] | (header[9] << 8));
    if (version != kFormatVersion) {
        ::close(fd_);
        throw Error(fmt::format("trace {} has format version {}, this memopt reads version {}",
                                path, version, kFormatVersion));
    }
    offset_ = kFileHeaderSize;
    buffer_.resize(kReadSize);
}

TraceReader::~TraceReader() {
    if (fd_ >= 0) ::close(fd_);
}

void TraceReader::corrupt(std::uint64_t offset, const char* what) const {
    throw Error(fmt::format("trace {} is corrupt at byte {}: {}", path_, offset, what));
}

bool TraceReader::next(Event& event) {
    while (ready_position_ == ready_.size()) {
        ready_.clear();
        ready_position_ = 0;
        if (!read_chunk()) {
            drain(true);
            emit_positioned_samples();
            if (ready_.empty()) return false;
        }
    }
    event = ready_[ready_position_++];
    ++events_;
    return true;
}

// Reads the next complete chunk into the buffer and decodes it. False at end of file.
bool TraceReader::read_chunk() {
    for (;;) {
        const std::size_t available = buffer_end_ - buffer_begin_;
        if (available > 0) {
            ByteCursor cursor{buffer_.data() + buffer_begin_, buffer_.data() + buffer_end_};
            std::uint8_t tag = 0;
            std::uint64_t length = 0;
            cursor.byte(tag);
            if (tag != kChunkTag) corrupt(offset_, "expected a chunk");
            if (cursor.varint(length)) {
                if (length > kMaxChunkPayload) corrupt(offset_, "chunk length out of range");
                const std::size_t header = static_cast<std::size_t>(cursor.cursor - (buffer_.data() + buffer_begin_));
                if (available >= header + length) {
                    decode_chunk(cursor.cursor, length, offset_);
                    buffer_begin_ += header + length;
                    offset_ += header + length;
                    return true;
                }
                if (header + length > buffer_.size()) buffer_.resize(header + length);
            } else if (available >= 1 + kMaxVarintSize) {
                corrupt(offset_, "bad chunk length");
            }
        }
        if (eof_) {
            if (buffer_end_ > buffer_begin_) truncated_ = true;
            return false;
        }
        // Move the partial chunk to the front and read more.
        std::memmove(buffer_.data(), buffer_.data() + buffer_begin_, available);
        buffer_begin_ = 0;
        buffer_end_ = available;
        const ssize_t n = ::read(fd_, buffer_.data() + buffer_end_, buffer_.size() - buffer_end_);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw Error(fmt::format("cannot read trace {}: {}", path_, std::strerror(errno)));
        }
        if (n == 0) eof_ = true;
        buffer_end_ += static_cast<std::size_t>(n);
    }
}

TraceReader::ThreadQueue& TraceReader::queue_for(std::uint32_t tid) {
    if (last_queue_ < queues_.size() && queues_[last_queue_].tid == tid) return queues_[last_queue_];
    for (std::size_t i = 0; i < queues_.size(); ++i) {
        if (queues_[i].tid == tid) {
            last_queue_ = i;
            return queues_[i];
        }
    }
    queues_.push_back({tid, {}});
    last_queue_ = queues_.size() - 1;
    return queues_.back();
}

std::uint32_t TraceReader::intern_name(std::string&& name) {
    auto [it, inserted] = name_index_.try_emplace(name, static_cast<std::uint32_t>(metadata_.names.size()));
    if (inserted) metadata_.names.push_back(std::move(name));
    return it->second;
}

void TraceReader::emit(Event&& event) {
    while (!positioned_.empty() && positioned_.front().seq <= event.seq) {
        ready_.push_back(positioned_.front());
        positioned_.pop_front();
    }
    ready_.push_back(std::move(event));
}

void TraceReader::emit_positioned_samples() {
    for (auto& sample : positioned_) ready_.push_back(sample);
    positioned_.clear();
}

void TraceReader::push(Event&& event) {
    if (pending_ == 0 && event.seq == next_seq_) { // in order already: the common case
        ++next_seq_;
        emit(std::move(event));
        return;
    }
    ThreadQueue& queue = queue_for(event.tid);
    queue.events.push_back(std::move(event));
    ++pending_;
}

void TraceReader::drain(bool skip_gaps) {
    if (pending_ > kMaxPendingEvents) skip_gaps = true;
    while (pending_ > 0) {
        ThreadQueue* found = nullptr;
        if (last_queue_ < queues_.size()) {
            auto& events = queues_[last_queue_].events;
            if (!events.empty() && events.front().seq <= next_seq_) found = &queues_[last_queue_];
        }
        if (!found) {
            for (std::size_t i = 0; i < queues_.size(); ++i) {
                auto& events = queues_[i].events;
                if (!events.empty() && events.front().seq <= next_seq_) {
                    found = &queues_[i];
                    last_queue_ = i;
                    break;
                }
            }
        }
        if (found) {
            // Take the whole run of consecutive numbers this thread holds.
            auto& events = found->events;
            do {
                Event& event = events.front();
                if (event.seq == next_seq_) ++next_seq_;
                // An older number: skipped as missing when too many events were waiting for
                // it (kMaxPendingEvents), it arrived after all (late, not lost). Otherwise
                // it only comes from a damaged trace.
                else if (event.seq < next_seq_ && missing_ > 0) --missing_;
                emit(std::move(event));
                events.pop_front();
                --pending_;
            } while (!events.empty() && events.front().seq <= next_seq_);
            continue;
        }
        if (!skip_gaps) return;
        std::uint64_t lowest = ~0ull;
        for (const auto& queue : queues_)
            if (!queue.events.empty()) lowest = std::min(lowest, queue.events.front().seq);
        if (lowest == ~0ull) return;
        missing_ += lowest - next_seq_;
        next_seq_ = lowest;
    }
}

void TraceReader::decode_chunk(const std::uint8_t* data, std::size_t size, std::uint64_t chunk_offset) {
    ByteCursor in{data, data + size};
    std::uint64_t tid = 0;
    std::uint64_t seq = 0;
    if (!in.varint(tid) || !in.varint(seq)) corrupt(chunk_offset, "bad chunk header");
    std::uint64_t last_units = 0;
    std::uint64_t pending_stack = 0;
    auto fail = [&](const char* what) { corrupt(chunk_offset + static_cast<std::uint64_t>(in.cursor - data), what); };
    auto need = [&](bool ok) {
        if (!ok) fail("record cut short");
    };
    auto read_text = [&]() {
        std::uint64_t length = 0;
        const std::uint8_t* bytes = nullptr;
        need(in.varint(length));
        if (length > size) fail("string longer than its chunk");
        need(in.bytes(static_cast<std::size_t>(length), bytes));
        return std::string(reinterpret_cast<const char*>(bytes), static_cast<std::size_t>(length));
    };
    auto sequenced = [&](Event& event) {
        event.seq = seq++;
        event.tid = static_cast<std::uint32_t>(tid);
        push(std::move(event));
    };
    auto allocation_event = [&](RecordKind kind, std::uint64_t address) {
        Event event;
        event.kind = kind;
        event.address = address;
        switch (kind) {
        case RecordKind::kFree: event.type = EventType::kFree; break;
        case RecordKind::kMmap: event.type = EventType::kMmap; break;
        case RecordKind::kMunmap: event.type = EventType::kMunmap; break;
        default: event.type = EventType::kAllocation; break;
        }
        if (kind != RecordKind::kFree) need(in.varint(event.size));
        event.stack = pending_stack;
        pending_stack = 0;
        sequenced(event);
    };

    while (!in.at_end()) {
        std::uint64_t head = 0;
        need(in.varint(head));
        const auto kind = static_cast<RecordKind>(head & 7);
        const std::uint64_t value = head >> 3;
        if (kind != RecordKind::kExtended) {
            last_units += static_cast<std::uint64_t>(unzigzag(value));
            allocation_event(kind, last_units << kAddressShift);
            continue;
        }
        switch (static_cast<ExtendedType>(value)) {
        case ExtendedType::kSeqSkip: {
            std::uint64_t skip = 0;
            need(in.varint(skip));
            seq += skip;
            break;
        }
        case ExtendedType::kUnaligned: {
            std::uint8_t raw_kind = 0;
            std::uint64_t address = 0;
            need(in.byte(raw_kind) && in.varint(address));
            if (raw_kind >= static_cast<std::uint8_t>(RecordKind::kExtended)) fail("bad event kind");
            allocation_event(static_cast<RecordKind>(raw_kind), address);
            break;
        }
        case ExtendedType::kStackRef: need(in.varint(pending_stack)); break;
        case ExtendedType::kRss: {
            Event event;
            event.type = EventType::kRss;
            event.tid = static_cast<std::uint32_t>(tid);
            need(in.varint(event.time_ns) && in.varint(event.value) && in.varint(event.seq));
            event.value *= metadata_.page_size;
            if (positioned_.size() > kMaxPendingEvents) emit_positioned_samples();
            positioned_.push_back(event);
            break;
        }
        case ExtendedType::kProcessExit:
        case ExtendedType::kFork: {
            Event event;
            const auto type = static_cast<ExtendedType>(value);
            event.type = type == ExtendedType::kFork ? EventType::kFork : EventType::kProcessExit;
            need(in.varint(event.time_ns) && in.varint(event.value));
            if (type == ExtendedType::kProcessExit) event.value *= 1024;
            sequenced(event);
            break;
        }
        case ExtendedType::kPhaseBegin:
        case ExtendedType::kPhaseEnd: {
            Event event;
            event.type = static_cast<ExtendedType>(value) == ExtendedType::kPhaseBegin
                             ? EventType::kPhaseBegin
                             : EventType::kPhaseEnd;
            need(in.varint(event.time_ns));
            event.name = intern_name(read_text());
            sequenced(event);
            break;
        }
        case ExtendedType::kMremap: {
            Event event;
            event.type = EventType::kMremap;
            need(in.varint(event.address) && in.varint(event.size) && in.varint(event.new_address) &&
                 in.varint(event.new_size));
            sequenced(event);
            break;
        }
        case ExtendedType::kThreadStart: {
            std::uint64_t time = 0;
            need(in.varint(time));
            ++metadata_.threads;
            break;
        }
        case ExtendedType::kFrame: {
            std::uint64_t id = 0;
            Frame frame;
            need(in.varint(id) && in.varint(frame.parent) && in.varint(frame.ip));
            metadata_.frames[id] = frame;
            break;
        }
        case ExtendedType::kModule: {
            Module module;
            std::uint64_t count = 0;
            need(in.varint(module.base));
            module.path = read_text();
            need(in.varint(count));
            if (count > size) fail("too many segments");
            for (std::uint64_t i = 0; i < count; ++i) {
                std::uint64_t vaddr = 0, memsz = 0;
                need(in.varint(vaddr) && in.varint(memsz));
                module.segments.emplace_back(vaddr, memsz);
            }
            metadata_.modules.push_back(std::move(module));
            break;
        }
        case ExtendedType::kProcessStart: {
            ProcessImage image;
            std::uint8_t origin = 0;
            need(in.varint(image.pid) && in.varint(image.ppid) && in.varint(image.start_ns) &&
                 in.byte(origin) && in.varint(metadata_.page_size) &&
                 in.varint(metadata_.stack_sample_bytes));
            if (metadata_.page_size == 0 || metadata_.page_size > (1u << 30)) fail("bad page size");
            image.origin = metadata_.images.empty() ? ProcessOrigin::kLaunched
                                                    : static_cast<ProcessOrigin>(origin);
            if (!metadata_.images.empty()) {
                // A new image: everything of the previous one comes first, numbering restarts.
                drain(true);
                emit_positioned_samples();
                Event event;
                event.type = EventType::kImageStart;
                event.time_ns = image.start_ns;
                event.value = image.pid;
                ready_.push_back(event);
                next_seq_ = 0;
                seq = 0;
            }
            metadata_.images.push_back(image);
            break;
        }
        case ExtendedType::kCommand: {
            std::uint64_t count = 0;
            need(in.varint(count));
            if (count > size) fail("too many arguments");
            metadata_.command.clear();
            for (std::uint64_t i = 0; i < count; ++i) metadata_.command.push_back(read_text());
            break;
        }
        case ExtendedType::kExitStatus: {
            std::uint64_t code = 0;
            std::uint8_t signaled = 0;
            need(in.varint(code) && in.varint(metadata_.exit.wall_ns) &&
                 in.varint(metadata_.exit.max_rss_kib) && in.byte(signaled));
            metadata_.exit.known = true;
            metadata_.exit.exit_code = static_cast<std::int64_t>(code);
            metadata_.exit.signaled = signaled != 0;
            break;
        }
        case ExtendedType::kTracerError: metadata_.tracer_errors.push_back(read_text()); break;
        default: fail("unknown record type");
        }
    }
    drain(false);
}

} // namespace memopt::trace
