#pragma once
// Anonymous mappings of a traced process, for the summary and the live status: munmap and
// mremap may cut any part of a mapping, so ranges are kept, not just sizes.
#include <algorithm>
#include <cstdint>
#include <map>

namespace memopt::reports {

// Anonymous mappings by start address -> end address; munmap may cut any part of them.
class Mappings {
  public:
    void add(std::uint64_t start, std::uint64_t length) {
        remove(start, length); // MAP_FIXED over an existing mapping replaces it
        ranges_[start] = start + length;
        bytes_ += length;
    }

    // Returns the number of tracked bytes that were unmapped.
    std::uint64_t remove(std::uint64_t start, std::uint64_t length) {
        const std::uint64_t end = start + length;
        std::uint64_t removed = 0;
        auto it = ranges_.upper_bound(start);
        if (it != ranges_.begin()) --it;
        while (it != ranges_.end() && it->first < end) {
            const std::uint64_t range_start = it->first;
            const std::uint64_t range_end = it->second;
            if (range_end <= start) {
                ++it;
                continue;
            }
            it = ranges_.erase(it);
            const std::uint64_t cut_start = std::max(start, range_start);
            const std::uint64_t cut_end = std::min(end, range_end);
            removed += cut_end - cut_start;
            if (range_start < cut_start) ranges_[range_start] = cut_start;
            if (cut_end < range_end) it = ranges_.emplace(cut_end, range_end).first;
        }
        bytes_ -= removed;
        return removed;
    }

    std::uint64_t bytes() const { return bytes_; }
    void clear() {
        ranges_.clear();
        bytes_ = 0;
    }

  private:
    std::map<std::uint64_t, std::uint64_t> ranges_;
    std::uint64_t bytes_ = 0;
};

} // namespace memopt::reports
