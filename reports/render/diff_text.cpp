// Text of `memopt report --diff BEFORE AFTER` (the default format).
#include "common/sizes.h"
#include "reports/render/diff_report.h"

#include <cmath>
#include <fmt/format.h>

namespace memopt::reports {
namespace {

std::string signed_size(double change) {
    if (change == 0) return "0";
    return (change > 0 ? "+" : "-") + format_size(std::fabs(change));
}

std::string relative(double before, double after) {
    if (before == after) return "";
    if (before == 0) return "(new)";
    return fmt::format("({:+.1f} %)", 100.0 * (after - before) / before);
}

std::string total_line(const TotalChange& total) {
    using Unit = TotalChange::Unit;
    std::string before, after, change;
    switch (total.unit) {
    case Unit::kBytes:
        before = format_size(total.before);
        after = format_size(total.after);
        change = signed_size(total.after - total.before);
        break;
    case Unit::kCount:
        before = fmt::format("{:.0f}", total.before);
        after = fmt::format("{:.0f}", total.after);
        change = fmt::format("{:+.0f}", total.after - total.before);
        break;
    case Unit::kSeconds:
        before = fmt::format("{:.3f} s", total.before);
        after = fmt::format("{:.3f} s", total.after);
        change = fmt::format("{:+.3f} s", total.after - total.before);
        break;
    }
    const std::string percent = relative(total.before, total.after);
    return fmt::format("{:<24} {:>12} {:>12} {:>13}{}{}\n", total.name, before, after, change, percent.empty() ? "" : " ",
                       percent);
}

std::string site_lines(const TraceDiff& diff, std::size_t top) {
    std::string out;
    std::size_t shown = 0, unchanged = 0;
    for (const auto& site : diff.sites) {
        if (site.peak_change() == 0 && site.bytes_change() == 0 && site.count_change() == 0) {
            ++unchanged;
            continue;
        }
        if (shown++ >= top) continue;
        out += fmt::format("{:>12} {:>11} -> {:<11} {:>12} {:>+11}  {}\n",
                           signed_size(static_cast<double>(site.peak_change())),
                           format_size(static_cast<double>(site.peak_before)),
                           format_size(static_cast<double>(site.peak_after)),
                           signed_size(static_cast<double>(site.bytes_change())), site.count_change(), site.site);
    }
    if (shown > top) out += fmt::format("... {} more changed sites (--top N shows more)\n", shown - top);
    if (unchanged) out += fmt::format("{} sites unchanged\n", unchanged);
    return out;
}

std::string sampling(const Summary& summary) {
    return summary.stack_sample_bytes <= 1 ? "every allocation"
                                           : fmt::format("about every {}", format_size(static_cast<double>(summary.stack_sample_bytes)));
}

} // namespace

std::string trace_diff_text(const TraceDiff& diff, std::size_t top) {
    std::string out;
    for (const auto& warning : diff.before.warnings) out += fmt::format("WARNING: before: {}\n", warning);
    for (const auto& warning : diff.after.warnings) out += fmt::format("WARNING: after: {}\n", warning);
    out += fmt::format("before  {}\nafter   {}\n\n", diff.before_name, diff.after_name);
    out += fmt::format("{:<24} {:>12} {:>12} {:>13}\n", "", "before", "after", "change");
    for (const auto& total : diff_totals(diff)) out += total_line(total);
    out += '\n';
    if (!diff.stacks) return out + "(no site comparison: both traces need stacks, record them with `memopt record --stacks`)\n";
    out += fmt::format("sites by the largest change of bytes live at the peak (stacks sampled {} before, {} after; "
                       "estimated):\n",
                       sampling(diff.before), sampling(diff.after));
    out += fmt::format("{:>12} {:>11}    {:<11} {:>12} {:>11}  {}\n", "peak change", "peak before", "after",
                       "allocated", "allocations", "site");
    return out + site_lines(diff, top);
}

} // namespace memopt::reports
