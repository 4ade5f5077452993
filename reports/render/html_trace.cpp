// HTML report of one trace (memopt report TRACE --format html).
#include "common/sizes.h"
#include "reports/render/html.h"

#include <fmt/format.h>

namespace memopt::reports {

using html::escape;
using html::megabytes;

namespace {

std::string command_line(const std::vector<std::string>& command) {
    std::string out;
    for (const auto& word : command) out += (out.empty() ? "" : " ") + word;
    return out.empty() ? "(unknown command)" : out;
}

std::string timeline_chart(const Summary& summary) {
    html::LineChart chart;
    chart.title = "Heap and resident memory over time";
    html::Series rss{"RSS", "#d62728", {}, {}, false, false};
    html::Series heap{"heap (requested)", "#1f77b4", {}, {}, false, false};
    for (const auto& point : summary.timeline) {
        rss.x.push_back(point.t_s);
        rss.y.push_back(static_cast<double>(point.rss_bytes));
        heap.x.push_back(point.t_s);
        heap.y.push_back(static_cast<double>(point.heap_bytes));
    }
    chart.series = {rss, heap};
    for (const auto& phase : summary.phases) chart.bands.push_back({phase.start_s, phase.end_s, phase.name});
    return html::line_chart(chart);
}

// Data the trace lacks changes every number below it: say so first, where it cannot be missed.
std::string warnings_box(const std::vector<std::string>& warnings) {
    if (warnings.empty()) return "";
    std::string box = "<div class=\"warnings\" role=\"alert\" style=\"border:2px solid #cf222e;background:#fff5f5;"
                      "padding:.4em 1em;margin:1em 0\">\n<p class=\"bad\"><strong>This trace is incomplete: the numbers "
                      "below may undercount.</strong></p>\n<ul>\n";
    for (const auto& warning : warnings) box += fmt::format("<li class=\"warn\">{}</li>\n", escape(warning));
    return box + "</ul>\n</div>\n";
}

} // namespace

std::string trace_report_html(const Summary& summary, const StackProfile* stacks) {
    const std::string command = command_line(summary.command);
    std::string body = fmt::format("<h1>memopt report</h1>\n<p class=\"mono\">{}</p>\n", escape(command));
    body += warnings_box(summary.warnings);
    std::vector<std::vector<std::string>> facts = {
        {"peak RSS", megabytes(static_cast<double>(summary.peak_rss_bytes))},
        {"peak heap (requested bytes)", fmt::format("{} at {:.2f} s", megabytes(static_cast<double>(summary.peak_heap_bytes)),
                                                    summary.peak_heap_time_s)},
        {"duration", fmt::format("{:.2f} s", summary.duration_s)},
        {"exit", summary.exit_known ? (summary.killed_by_signal ? fmt::format("signal {}", summary.exit_code)
                                                                : fmt::format("status {}", summary.exit_code))
                                    : "unknown"},
        {"allocations / frees", fmt::format("{} / {}", summary.total_allocations, summary.total_frees)},
        {"bytes allocated in total", megabytes(static_cast<double>(summary.total_allocated_bytes))},
        {"still allocated at exit", megabytes(static_cast<double>(summary.leaked_bytes + summary.leaked_mapped_bytes))},
        {"stacks", summary.stack_sample_bytes
                       ? fmt::format("sampled, one per {} bytes on average", summary.stack_sample_bytes)
                       : "not recorded (memopt record --stacks)"},
    };
    body += html::table({"", ""}, facts);
    for (const auto& note : summary.notes) body += fmt::format("<p class=\"note\">note: {}</p>\n", escape(note));

    body += "<h2>Timeline</h2>\n";
    if (summary.timeline.empty()) body += "<p class=\"muted\">No RSS samples in this trace.</p>\n";
    else body += timeline_chart(summary) +
                 "<p class=\"muted\">RSS is sampled on a timer; the heap line is the highest requested heap "
                 "(malloc family + anonymous mmap) between two samples. Shaded bands are the program's "
                 "phases (<code>memopt.phase()</code>).</p>\n";

    body += "<h2>Phases</h2>\n";
    if (summary.phases.empty()) body += "<p class=\"muted\">The program marked no phases.</p>\n";
    else {
        std::vector<std::vector<std::string>> rows;
        for (const auto& p : summary.phases)
            rows.push_back({p.name, fmt::format("{:.2f}", p.start_s), fmt::format("{:.2f}", p.end_s),
                            fmt::format("{:.2f}", p.end_s - p.start_s),
                            fmt::format("{:.1f}", to_mb(static_cast<double>(p.peak_heap_bytes))),
                            fmt::format("{:.1f}", to_mb(static_cast<double>(p.peak_rss_bytes)))});
        body += html::table({"phase", "start (s)", "end (s)", "duration (s)", "peak heap (MB)", "peak RSS (MB)"}, rows);
    }

    body += "<h2>Top allocation sites</h2>\n";
    if (summary.top_sites.empty()) body += "<p class=\"muted\">No stacks recorded (use <code>memopt record --stacks</code>).</p>\n";
    else {
        std::vector<std::vector<std::string>> rows;
        for (const auto& site : summary.top_sites) {
            std::string stack;
            for (std::size_t i = 0; i < site.stack.size() && i < 8; ++i) stack += escape(site.stack[i]) + "\n";
            if (site.stack.size() > 8) stack += fmt::format("… {} more frames", site.stack.size() - 8);
            rows.push_back({fmt::format("{:.2f}", to_mb(static_cast<double>(site.bytes))), fmt::format("{}", site.count),
                            "<div class=\"stack\">" + stack + "</div>"});
        }
        body += html::table({"allocated (MB)", "allocations", "stack (innermost first)"}, rows, true);
    }

    if (stacks && !stacks->allocated.empty()) {
        body += "<h2>Allocation flame graphs</h2>\n<p class=\"muted\">Width is bytes (estimated from the sampled "
                "allocations); the program's entry is at the bottom, allocation sites at the top. Hover a frame for "
                "its name and size.</p>\n";
        body += html::flame_graph(stacks->allocated, "Bytes allocated over the whole run");
        if (!stacks->live_at_peak.empty())
            body += html::flame_graph(stacks->live_at_peak,
                                      fmt::format("Bytes live at the sampled peak ({:.2f} s, {})", stacks->live_peak_time_s,
                                                  megabytes(static_cast<double>(stacks->live_peak_bytes))));
    }
    body += "<p class=\"muted\">Generated by memopt. MB = 10<sup>6</sup> bytes.</p>\n";
    return html::page("memopt report: " + command, body);
}

} // namespace memopt::reports
