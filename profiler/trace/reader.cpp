#include "profiler/trace/reader.h"

#include "common/error.h"
#include "profiler/trace/encoding.h"
#include "profiler/trace/reader_chunk.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/std.h>
#include <unistd.h>

namespace memopt::trace {
namespace {

constexpr std::size_t kReadSize = 1 << 20;

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
    if (version < kOldestReadableVersion || version > kFormatVersion) {
        ::close(fd_);
        throw Error(fmt::format("trace {} has format version {}, this memopt reads versions {} to {}",
                                path, version, kOldestReadableVersion, kFormatVersion));
    }
    metadata_.format_version = version;
    checksummed_ = version >= 2;
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
        if (!advance_order()) return false;
    }
    event = std::move(ready_[ready_position_++]);
    ++events_;
    return true;
}

// Fills ready_ with up to kReadyBatch events: handed out in batches, the consumer's work on
// one event overlaps the next ones' (a report's live-block lookups are cache misses), while
// what is collected stays small. False once everything was handed out.
bool TraceReader::advance_order() {
    while (ready_.size() < kReadyBatch && order_step()) {
    }
    return !ready_.empty();
}

// One step: events that are due go to ready_, else records are decoded, else a chunk is
// read; at the end of the file (or past the window) the lowest gap is given up on. False at
// the end. Events that wait go out between chunks, as when whole chunks were decoded at once
// (a chunk's RSS samples are placed before anything it made due).
bool TraceReader::order_step() {
    if (pending_ > 0 && (!chunk_active_ || pending_ > kMaxPendingEvents)) {
        if (release_due()) return true;
        if (pending_ > kMaxPendingEvents && give_up_gap()) return true;
    }
    if (next_image_) { // exec: the old image's events first, gaps given up on
        if (pending_ > 0 && give_up_gap()) return true;
        start_new_image();
        return true;
    }
    if (chunk_active_) {
        Chunk& chunk = *chunk_;
        while (!chunk.in.at_end() && ready_.size() < kReadyBatch && !next_image_ && pending_ <= kMaxPendingEvents)
            decode_record(chunk);
        if (chunk.in.at_end()) chunk_active_ = false;
        return true;
    }
    if (!at_eof_ && read_chunk()) return true;
    at_eof_ = true;
    if (pending_ > 0 && give_up_gap()) return true;
    if (!positioned_.empty()) {
        emit_positioned_samples();
        return true;
    }
    if (!finished_) finish_losses();
    return false;
}

TraceReader::ThreadQueue& TraceReader::queue_for(std::uint32_t tid) {
    if (last_queue_ < queues_.size() && queues_[last_queue_].tid == tid) return queues_[last_queue_];
    for (std::size_t i = 0; i < queues_.size(); ++i) {
        if (queues_[i].tid == tid) {
            last_queue_ = i;
            return queues_[i];
        }
    }
    queues_.push_back({tid, {}, {}});
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
        ready_.back().seq -= std::min(voided_, ready_.back().seq);
        positioned_.pop_front();
    }
    event.seq -= std::min(voided_, event.seq); // numbers of events only, void ones left out
    ready_.push_back(std::move(event));
}

bool TraceReader::skip_void_numbers() {
    bool moved = false;
    while (!voids_.empty() && voids_.top().first <= next_seq_) {
        const auto [first, end] = voids_.top();
        voids_.pop();
        if (end > next_seq_) {
            voided_ += end - next_seq_;
            next_seq_ = end;
            moved = true;
        } else if (missing_ > 0) {
            forget_late_arrival(first, end - first); // given up on as missing, void after all
        }
    }
    return moved;
}

void TraceReader::emit_positioned_samples() {
    for (auto& sample : positioned_) ready_.push_back(sample);
    positioned_.clear();
}

void TraceReader::push(Event&& event) {
    ++decoded_events_;
    if (pending_ == 0 && event.seq == next_seq_) { // in order already: the common case
        ++next_seq_;
        emit(std::move(event));
        if (!voids_.empty()) skip_void_numbers();
        return;
    }
    queue_event(queue_for(event.tid), std::move(event));
}

void TraceReader::queue_event(ThreadQueue& queue, Event&& event) {
    const bool whole = event.type != EventType::kAllocation && event.type != EventType::kFree &&
                       event.type != EventType::kMmap && event.type != EventType::kMunmap;
    const auto index = static_cast<std::uint32_t>(&queue - queues_.data());
    if (queue.events.empty() && index != run_queue_) fronts_.push({event.seq, index});
    queue.events.push_back({event.seq, event.address, event.size,
                            event.stack << 8 | std::uint64_t{whole} << 7 | static_cast<std::uint64_t>(event.type) << 3 |
                                static_cast<std::uint64_t>(event.kind)});
    if (whole) queue.whole.push_back(std::move(event));
    ++pending_;
}

Event TraceReader::unqueue_event(ThreadQueue& queue) {
    const PendingEvent pending = queue.events.front();
    queue.events.pop_front();
    --pending_;
    if (pending.packed & (1u << 7)) {
        Event event = std::move(queue.whole.front());
        queue.whole.pop_front();
        return event;
    }
    Event event;
    event.seq = pending.seq;
    event.type = static_cast<EventType>((pending.packed >> 3) & 15);
    event.kind = static_cast<RecordKind>(pending.packed & 7);
    event.tid = queue.tid;
    event.address = pending.address;
    event.size = pending.size;
    event.stack = pending.packed >> 8;
    return event;
}

// Emits the lowest waiting event when its number is due (or older: given up on as missing,
// it arrived after all); true when it did, or when void numbers moved the order on.
bool TraceReader::release_due() {
    if (run_queue_ != kNoQueue) {
        ThreadQueue& run = queues_[run_queue_];
        if (!run.events.empty() && run.events.front().seq <= next_seq_) {
            // Take the run of consecutive numbers this thread holds, without the heap.
        } else {
            if (!run.events.empty()) fronts_.push({run.events.front().seq, run_queue_});
            run_queue_ = kNoQueue;
        }
    }
    if (run_queue_ == kNoQueue) {
        if (fronts_.empty() || fronts_.top().first > next_seq_) return skip_void_numbers();
        run_queue_ = fronts_.top().second;
        fronts_.pop();
    }
    Event event = unqueue_event(queues_[run_queue_]);
    if (event.seq == next_seq_) ++next_seq_;
    // An older number: given up on as missing (too many events were waiting for it), it
    // arrived after all (late, not lost). Otherwise it only comes from a damaged trace.
    else if (event.seq < next_seq_ && missing_ > 0 && forget_late_arrival(event.seq)) ++late_events_;
    emit(std::move(event));
    if (!voids_.empty()) skip_void_numbers();
    return true;
}

// Nothing waiting is due: the numbers up to the lowest one waiting are given up on as
// missing. False when nothing waits.
bool TraceReader::give_up_gap() {
    // Afterwards every queue front and void range left begins above next_seq_.
    if (release_due()) return true;
    std::uint64_t lowest = voids_.empty() ? ~0ull : voids_.top().first;
    if (!fronts_.empty()) lowest = std::min(lowest, fronts_.top().first);
    if (lowest == ~0ull) return false;
    missing_ += lowest - next_seq_;
    open_gaps_.emplace(next_seq_, lowest);
    next_seq_ = lowest;
    return true;
}

std::uint32_t TraceReader::current_image() const {
    return metadata_.images.empty() ? 0 : static_cast<std::uint32_t>(metadata_.images.size() - 1);
}

// Numbers given up on as missing arrived after all (late, not lost; or void): take them out
// of their gaps. True when any of them was in one.
bool TraceReader::forget_late_arrival(std::uint64_t seq, std::uint64_t count) {
    const std::uint64_t end = seq + count < seq ? ~0ull : seq + count;
    bool found = false;
    auto it = open_gaps_.upper_bound(seq);
    if (it != open_gaps_.begin()) --it;
    while (it != open_gaps_.end() && it->first < end) {
        const std::uint64_t gap_from = it->first, gap_to = it->second;
        const std::uint64_t from = std::max(seq, gap_from), to = std::min(end, gap_to);
        if (from >= to) {
            ++it;
            continue;
        }
        found = true;
        missing_ -= std::min(missing_, to - from);
        it = open_gaps_.erase(it);
        if (gap_from < from) open_gaps_.emplace(gap_from, from);
        if (to < gap_to) it = open_gaps_.emplace(to, gap_to).first;
    }
    return found;
}

// The current image's gaps join the list that finish_losses reads (at exec and at the end).
void TraceReader::close_open_gaps() {
    for (const auto& [from, to] : open_gaps_) gaps_.push_back({current_image(), from, to});
    open_gaps_.clear();
}

// Once the whole file is read: how many events each skipped chunk may have held. Missing
// sequence numbers inside a skipped chunk's range (from its first_seq to the first_seq of its
// thread's next good chunk) are counted for it, exactly; a chunk whose numbers cannot be seen
// missing (the file's last ones) is estimated from its size at the file's bytes per event.
void TraceReader::finish_losses() {
    finished_ = true;
    close_open_gaps();
    metadata_.late_events = late_events_;
    const double events_per_byte = decoded_events_ ? static_cast<double>(decoded_events_) / static_cast<double>(decoded_bytes_)
                                                   : 1.0 / 3.0; // a typical event record is 2 to 4 bytes
    for (std::size_t i = 0; i < metadata_.skipped.size(); ++i) {
        SkippedChunk& skipped = metadata_.skipped[i];
        std::uint64_t counted = 0;
        std::vector<Gap> pieces; // gaps cut in two by the range
        if (skipped.header_known) {
            const std::uint64_t from = skipped.first_seq;
            const std::uint64_t to = skip_range_end_[i];
            for (Gap& gap : gaps_) {
                if (gap.image != skipped.image || gap.to <= from || gap.from >= to) continue;
                const std::uint64_t cut_from = std::max(gap.from, from);
                const std::uint64_t cut_to = std::min(gap.to, to);
                counted += cut_to - cut_from;
                // The part of the gap outside the range stays for others to explain.
                if (gap.from < cut_from && cut_to < gap.to) pieces.push_back({gap.image, cut_to, gap.to});
                if (gap.from < cut_from) gap.to = cut_from;
                else gap.from = cut_to;
            }
        }
        gaps_.insert(gaps_.end(), pieces.begin(), pieces.end());
        skipped.lost_events_exact = counted > 0;
        skipped.lost_events = counted > 0 ? counted
                                          : static_cast<std::uint64_t>(static_cast<double>(skipped.bytes) * events_per_byte + 0.5);
    }
    metadata_.unexplained_missing = 0;
    for (const Gap& gap : gaps_)
        if (gap.to > gap.from) metadata_.unexplained_missing += gap.to - gap.from;
}

} // namespace memopt::trace
