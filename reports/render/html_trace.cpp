// HTML report of one trace (memopt report TRACE --format html).
#include "common/sizes.h"
#include "reports/analysis/stacks.h"
#include "reports/render/html.h"

#include "reports/analysis/site_lines.h"

#include <algorithm>
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

constexpr std::size_t kTopLines = 15;

// The sampled bytes live at the peak summed by allocation_line(): where the peak was made.
std::string lines_at_peak(const StackProfile& stacks) {
    const auto lines = weights_by_line(stacks.live_at_peak);
    if (lines.empty()) return "";
    std::string out = fmt::format("<h2>Top allocating lines at the peak</h2>\n<p class=\"muted\">Sampled bytes live at the "
                                  "peak ({:.2f} s, {}) by the line that asked for them: the innermost Python line of the "
                                  "stack, else its innermost frame that is not the allocator, the C runtime or the "
                                  "interpreter.</p>\n",
                                  stacks.live_peak_time_s, megabytes(static_cast<double>(stacks.live_peak_bytes)));
    std::vector<std::vector<std::string>> rows;
    for (std::size_t i = 0; i < lines.size() && i < kTopLines; ++i)
        rows.push_back({fmt::format("{:.2f}", to_mb(static_cast<double>(lines[i].bytes))),
                        fmt::format("{:.1f}", 100.0 * static_cast<double>(lines[i].bytes) /
                                                  static_cast<double>(std::max<std::uint64_t>(stacks.live_peak_bytes, 1))),
                        fmt::format("{}", lines[i].count), lines[i].line});
    out += html::table({"live at peak (MB)", "% of peak", "blocks live", "line"}, rows);
    if (lines.size() > kTopLines) out += fmt::format("<p class=\"muted\">… and {} more lines.</p>\n", lines.size() - kTopLines);
    return out;
}

std::string stack_views(const StackProfile& stacks) {
    std::string out = lines_at_peak(stacks);
    out += "<h2>Allocation flame graphs</h2>\n<p class=\"muted\">Width is bytes (estimated from the sampled "
           "allocations); the program's entry is at the bottom, allocation sites at the top. Hover a frame for its "
           "name and size, click it to zoom in (click <em>all</em> or <em>Reset zoom</em> to go back); the search box "
           "highlights the frames whose name contains its text and sums their bytes.</p>\n";
    out += html::flame_graph(stacks.allocated, "Bytes allocated over the whole run");
    if (!stacks.live_at_peak.empty())
        out += html::flame_graph(stacks.live_at_peak,
                                 fmt::format("Bytes live at the sampled peak ({:.2f} s, {})", stacks.live_peak_time_s,
                                             megabytes(static_cast<double>(stacks.live_peak_bytes))));
    std::uint64_t leaked = 0;
    for (const auto& stack : stacks.live_at_end) leaked += stack.bytes;
    if (!stacks.live_at_end.empty())
        out += html::flame_graph(stacks.live_at_end,
                                 fmt::format("Live at the end: bytes never freed ({}, sampled)", megabytes(static_cast<double>(leaked))));
    return out + html::flame_script();
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

    if (!summary.children.empty()) { // the child traces (TRACE.PID.N), each with its command
        body += "<h2>Child processes</h2>\n";
        std::vector<std::vector<std::string>> rows;
        for (const auto& c : summary.children) {
            std::string command;
            for (const auto& word : c.command) command += (command.empty() ? "" : " ") + word;
            rows.push_back({fmt::format("{}", c.pid), fmt::format("{:.1f}", to_mb(static_cast<double>(c.peak_heap_bytes))),
                            fmt::format("{:.1f}", to_mb(static_cast<double>(c.peak_rss_bytes))),
                            (c.forked ? "fork of " : "") + (command.empty() ? "(command unknown)" : command), c.trace});
        }
        body += html::table({"pid", "peak heap (MB)", "peak RSS (MB)", "command", "trace"}, rows);
    }

    body += "<h2>Top allocation sites</h2>\n";
    if (summary.top_sites.empty()) body += "<p class=\"muted\">No stacks recorded (use <code>memopt record --stacks</code>).</p>\n";
    else {
        std::vector<std::vector<std::string>> rows;
        for (const auto& site : summary.top_sites) {
            std::string stack;
            std::size_t next = 0; // the innermost frames, then the Python lines further out (as the text report)
            for (const std::size_t i : frames_to_list(site.stack, 8, 4)) {
                if (i > next) stack += fmt::format("… {} frames\n", i - next);
                stack += escape(site.stack[i]) + "\n";
                next = i + 1;
            }
            if (site.stack.size() > next) stack += fmt::format("… {} more frames", site.stack.size() - next);
            rows.push_back({fmt::format("{:.2f}", to_mb(static_cast<double>(site.bytes))), fmt::format("{}", site.count),
                            "<div class=\"stack\">" + stack + "</div>"});
        }
        body += html::table({"allocated (MB)", "allocations", "stack (innermost first)"}, rows, true);
    }

    if (stacks && !stacks->allocated.empty()) body += stack_views(*stacks);
    body += "<p class=\"muted\">Generated by memopt. MB = 10<sup>6</sup> bytes.</p>\n";
    return html::page("memopt report: " + command, body);
}

} // namespace memopt::reports
