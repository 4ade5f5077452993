// HTML page of `memopt report --diff BEFORE AFTER --format html`: the totals, the sites'
// changes and the differential flame graph of the bytes live at the peak.
#include "common/sizes.h"
#include "reports/render/diff_report.h"
#include "reports/render/html.h"

#include <cmath>
#include <fmt/format.h>

namespace memopt::reports {
namespace {

using html::escape;

std::string signed_mb(double change) { return change == 0 ? "0" : fmt::format("{:+.2f}", to_mb(change)); }

std::string relative(double before, double after) {
    if (before == after) return "";
    if (before == 0) return "new";
    return fmt::format("{:+.1f} %", 100.0 * (after - before) / before);
}

std::string totals_table(const TraceDiff& diff) {
    using Unit = TotalChange::Unit;
    std::vector<std::vector<std::string>> rows;
    for (const auto& total : diff_totals(diff)) {
        const double change = total.after - total.before;
        switch (total.unit) {
        case Unit::kBytes:
            rows.push_back({total.name + " (MB)", fmt::format("{:.2f}", to_mb(total.before)),
                            fmt::format("{:.2f}", to_mb(total.after)), signed_mb(change), relative(total.before, total.after)});
            break;
        case Unit::kCount:
            rows.push_back({total.name, fmt::format("{:.0f}", total.before), fmt::format("{:.0f}", total.after),
                            fmt::format("{:+.0f}", change), relative(total.before, total.after)});
            break;
        case Unit::kSeconds:
            rows.push_back({total.name + " (s)", fmt::format("{:.3f}", total.before), fmt::format("{:.3f}", total.after),
                            fmt::format("{:+.3f}", change), relative(total.before, total.after)});
            break;
        }
    }
    return html::table({"", "before", "after", "change", "%"}, rows);
}

std::string sites_table(const TraceDiff& diff, std::size_t top) {
    std::vector<std::vector<std::string>> rows;
    std::size_t changed = 0;
    for (const auto& site : diff.sites) {
        if (site.peak_change() == 0 && site.bytes_change() == 0 && site.count_change() == 0) continue;
        if (changed++ >= top) continue;
        const auto mb = [](std::uint64_t bytes) { return fmt::format("{:.2f}", to_mb(static_cast<double>(bytes))); };
        rows.push_back({signed_mb(static_cast<double>(site.peak_change())), mb(site.peak_before), mb(site.peak_after),
                        signed_mb(static_cast<double>(site.bytes_change())), fmt::format("{:+}", site.count_change()),
                        site.site});
    }
    if (rows.empty()) return "<p class=\"muted\">No site changed.</p>\n";
    std::string out = html::table({"peak change (MB)", "peak before (MB)", "peak after (MB)", "allocated change (MB)",
                                   "allocations change", "site"},
                                  rows);
    if (changed > top) out += fmt::format("<p class=\"muted\">… and {} more changed sites (<code>--top N</code>).</p>\n", changed - top);
    return out;
}

} // namespace

std::string trace_diff_html(const TraceDiff& diff, std::size_t top) {
    std::string body = "<h1>memopt report --diff</h1>\n";
    body += html::table({"", "trace"}, {{"before", diff.before_name}, {"after", diff.after_name}});
    for (const auto& warning : diff.before.warnings)
        body += fmt::format("<p class=\"bad\">before: {}</p>\n", escape(warning));
    for (const auto& warning : diff.after.warnings)
        body += fmt::format("<p class=\"bad\">after: {}</p>\n", escape(warning));
    body += "<h2>Totals</h2>\n" + totals_table(diff);
    body += "<h2>Sites</h2>\n";
    if (!diff.stacks) {
        body += "<p class=\"muted\">No site comparison: both traces need stacks (<code>memopt record --stacks</code>).</p>\n";
        return html::page("memopt report --diff", body);
    }
    body += "<p class=\"muted\">A site is the line that asked for the memory (the same line in both traces is the same "
            "site); bytes and counts are estimated from the sampled stacks. Sorted by the largest change of the bytes "
            "live at the sampled peak, then of the bytes allocated over the run.</p>\n";
    body += sites_table(diff, top);
    body += "<h2>Differential flame graph</h2>\n<p class=\"muted\">Bytes live at the sampled peak: width is the larger "
            "of the two traces, <span style=\"color:#c03030\">red</span> frames grew, <span style=\"color:#3030c0\">"
            "blue</span> ones shrank, grey ones did not change; the deeper the colour, the larger the change for the frame's size (deepest: new or gone). Click to zoom, search to "
            "highlight.</p>\n";
    body += html::diff_flame_graph(diff.peak_stacks, "Bytes live at the peak: after vs before");
    body += html::flame_script();
    return html::page("memopt report --diff", body);
}

} // namespace memopt::reports
