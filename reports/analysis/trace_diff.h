#pragma once
// Site-level comparison of two traces (`memopt report --diff BEFORE AFTER`, like heaptrack's
// --diff): the totals of each, and per site — one allocation_line() (site_lines.h), so the
// same line in both traces is the same site whatever its addresses — the change in sampled
// bytes live at the peak and in bytes and allocations over the run.
#include "reports/analysis/stacks.h"
#include "reports/analysis/summary.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace memopt::reports {

struct SiteChange {
    std::string site;
    std::uint64_t peak_before = 0; // sampled bytes live at the sampled peak
    std::uint64_t peak_after = 0;
    std::uint64_t bytes_before = 0; // sampled bytes allocated over the run
    std::uint64_t bytes_after = 0;
    std::uint64_t count_before = 0; // sampled allocations over the run
    std::uint64_t count_after = 0;

    std::int64_t peak_change() const { return change(peak_before, peak_after); }
    std::int64_t bytes_change() const { return change(bytes_before, bytes_after); }
    std::int64_t count_change() const { return change(count_before, count_after); }
    static std::int64_t change(std::uint64_t before, std::uint64_t after) {
        return static_cast<std::int64_t>(after) - static_cast<std::int64_t>(before);
    }
};

// One stack of the differential flame graph (frames outermost first) and its sampled bytes
// live at the peak in each trace.
struct StackChange {
    std::vector<std::string> frames;
    std::uint64_t before = 0;
    std::uint64_t after = 0;
};

struct TraceDiff {
    std::string before_name;
    std::string after_name;
    Summary before;
    Summary after;
    bool stacks = false; // both traces have sampled stacks (else `sites` and `peak_stacks` are empty)
    // Sorted by the largest absolute change of peak bytes, then of allocated bytes, then of
    // allocations, then by site.
    std::vector<SiteChange> sites;
    std::vector<StackChange> peak_stacks;
};

// One line of the totals on top of a diff.
struct TotalChange {
    enum class Unit { kBytes, kCount, kSeconds };
    std::string name;
    double before = 0;
    double after = 0;
    Unit unit = Unit::kBytes;
};
// Peak heap, peak RSS, bytes allocated, allocations, still allocated at exit, duration: the
// exact figures of each summary (not sampled).
std::vector<TotalChange> diff_totals(const TraceDiff& diff);

// From what was read of each trace; `stacks` may be null (no stacks recorded).
TraceDiff diff_profiles(const Summary& before, const StackProfile* before_stacks, const Summary& after,
                        const StackProfile* after_stacks);

// Reads both traces; throws memopt::Error naming the file that is not a readable trace.
TraceDiff diff_traces(const std::filesystem::path& before, const std::filesystem::path& after);

} // namespace memopt::reports
