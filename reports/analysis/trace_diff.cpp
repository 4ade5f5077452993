#include "reports/analysis/trace_diff.h"

#include "common/error.h"
#include "reports/analysis/site_lines.h"

#include <algorithm>
#include <cstdlib>
#include <fmt/format.h>
#include <fmt/std.h>
#include <map>
#include <tuple>

namespace memopt::reports {
namespace {

std::uint64_t magnitude(std::int64_t change) { return static_cast<std::uint64_t>(change < 0 ? -change : change); }

std::vector<SiteChange> site_changes(const StackProfile& before, const StackProfile& after) {
    std::map<std::string, SiteChange> sites;
    const auto site = [&](const std::string& line) -> SiteChange& {
        SiteChange& change = sites[line];
        change.site = line;
        return change;
    };
    for (const auto& line : weights_by_line(before.live_at_peak)) site(line.line).peak_before = line.bytes;
    for (const auto& line : weights_by_line(after.live_at_peak)) site(line.line).peak_after = line.bytes;
    for (const auto& line : weights_by_line(before.allocated)) {
        site(line.line).bytes_before = line.bytes;
        site(line.line).count_before = line.count;
    }
    for (const auto& line : weights_by_line(after.allocated)) {
        site(line.line).bytes_after = line.bytes;
        site(line.line).count_after = line.count;
    }
    std::vector<SiteChange> ranked;
    ranked.reserve(sites.size());
    for (auto& [_, change] : sites) ranked.push_back(std::move(change));
    const auto key = [](const SiteChange& s) {
        return std::make_tuple(magnitude(s.peak_change()), magnitude(s.bytes_change()), magnitude(s.count_change()));
    };
    std::stable_sort(ranked.begin(), ranked.end(), [&](const SiteChange& a, const SiteChange& b) { return key(a) > key(b); });
    return ranked;
}

std::vector<StackChange> stack_changes(const StackProfile& before, const StackProfile& after) {
    std::map<std::vector<std::string>, StackChange> stacks;
    for (const auto& stack : before.live_at_peak) {
        StackChange& change = stacks[stack.frames];
        change.frames = stack.frames;
        change.before += stack.bytes;
    }
    for (const auto& stack : after.live_at_peak) {
        StackChange& change = stacks[stack.frames];
        change.frames = stack.frames;
        change.after += stack.bytes;
    }
    std::vector<StackChange> changes;
    changes.reserve(stacks.size());
    for (auto& [_, change] : stacks) changes.push_back(std::move(change));
    return changes;
}

template <typename Read>
auto reading(const std::filesystem::path& path, Read read) {
    try {
        return read();
    } catch (const Error& e) {
        const std::string what = e.what();
        // Reader errors usually name the file already.
        if (what.find(path.string()) != std::string::npos) throw;
        throw Error(fmt::format("{}: {}", path, what));
    }
}

} // namespace

TraceDiff diff_profiles(const Summary& before, const StackProfile* before_stacks, const Summary& after,
                        const StackProfile* after_stacks) {
    TraceDiff diff;
    diff.before = before;
    diff.after = after;
    diff.stacks = before_stacks && after_stacks && before_stacks->stack_sample_bytes && after_stacks->stack_sample_bytes;
    if (!diff.stacks) return diff;
    diff.sites = site_changes(*before_stacks, *after_stacks);
    diff.peak_stacks = stack_changes(*before_stacks, *after_stacks);
    return diff;
}

std::vector<TotalChange> diff_totals(const TraceDiff& diff) {
    using Unit = TotalChange::Unit;
    const auto d = [](std::uint64_t v) { return static_cast<double>(v); };
    const Summary& b = diff.before;
    const Summary& a = diff.after;
    return {
        {"peak heap", d(b.peak_heap_bytes), d(a.peak_heap_bytes), Unit::kBytes},
        {"peak RSS", d(b.peak_rss_bytes), d(a.peak_rss_bytes), Unit::kBytes},
        {"allocated in total", d(b.total_allocated_bytes), d(a.total_allocated_bytes), Unit::kBytes},
        {"allocations", d(b.total_allocations), d(a.total_allocations), Unit::kCount},
        {"still allocated at exit", d(b.leaked_bytes + b.leaked_mapped_bytes), d(a.leaked_bytes + a.leaked_mapped_bytes),
         Unit::kBytes},
        {"duration", b.duration_s, a.duration_s, Unit::kSeconds},
    };
}

TraceDiff diff_traces(const std::filesystem::path& before, const std::filesystem::path& after) {
    // Both summaries first: a bad AFTER is refused before the slower stack passes.
    SummaryOptions options;
    options.top_sites = 0;
    const Summary before_summary = reading(before, [&] { return summarize_trace(before, options); });
    const Summary after_summary = reading(after, [&] { return summarize_trace(after, options); });
    StackProfile before_stacks, after_stacks;
    if (before_summary.stack_sample_bytes) before_stacks = reading(before, [&] { return collect_stacks(before); });
    if (after_summary.stack_sample_bytes) after_stacks = reading(after, [&] { return collect_stacks(after); });
    TraceDiff diff = diff_profiles(before_summary, &before_stacks, after_summary, &after_stacks);
    diff.before_name = before.string();
    diff.after_name = after.string();
    return diff;
}

} // namespace memopt::reports
