#include "profiler/trace/reader.h"

#include "common/error.h"
#include "profiler/trace/encoding.h"

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
        if (!read_chunk()) {
            drain(true);
            emit_positioned_samples();
            if (!finished_) finish_losses();
            if (ready_.empty()) return false;
        }
    }
    event = ready_[ready_position_++];
    ++events_;
    return true;
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
                else if (event.seq < next_seq_ && missing_ > 0) forget_late_arrival(event.seq);
                emit(std::move(event));
                events.pop_front();
                --pending_;
                if (!voids_.empty()) skip_void_numbers();
            } while (!events.empty() && events.front().seq <= next_seq_);
            continue;
        }
        if (skip_void_numbers()) continue;
        if (!skip_gaps) return;
        std::uint64_t lowest = voids_.empty() ? ~0ull : voids_.top().first;
        for (const auto& queue : queues_)
            if (!queue.events.empty()) lowest = std::min(lowest, queue.events.front().seq);
        if (lowest == ~0ull) return;
        missing_ += lowest - next_seq_;
        gaps_.push_back({current_image(), next_seq_, lowest});
        next_seq_ = lowest;
    }
}

std::uint32_t TraceReader::current_image() const {
    return metadata_.images.empty() ? 0 : static_cast<std::uint32_t>(metadata_.images.size() - 1);
}

// Numbers given up on as missing arrived after all (late, not lost; or void): take them out
// of their gaps.
void TraceReader::forget_late_arrival(std::uint64_t seq, std::uint64_t count) {
    const std::uint32_t image = current_image();
    const std::uint64_t end = seq + count < seq ? ~0ull : seq + count;
    for (std::size_t i = gaps_.size(); i-- > 0 && missing_ > 0;) {
        Gap& gap = gaps_[i];
        if (gap.image != image) break;
        const std::uint64_t from = std::max(seq, gap.from), to = std::min(end, gap.to);
        if (from >= to) continue;
        const Gap after{image, to, gap.to};
        gap.to = from;
        if (after.from < after.to) gaps_.push_back(after);
        missing_ -= std::min(missing_, to - from);
    }
}

// Once the whole file is read: how many events each skipped chunk may have held. Missing
// sequence numbers inside a skipped chunk's range (from its first_seq to the first_seq of its
// thread's next good chunk) are counted for it, exactly; a chunk whose numbers cannot be seen
// missing (the file's last ones) is estimated from its size at the file's bytes per event.
void TraceReader::finish_losses() {
    finished_ = true;
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
