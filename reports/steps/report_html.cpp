// The per-step report as a self-contained HTML page with inline SVG: footprint per step
// (the shape of the paper's Fig. 2), memory timelines of the baseline and the first accepted
// step (Fig. 3), latency per step (Fig. 4), and the steps table.
#include "common/sizes.h"
#include "reports/steps/report.h"

#include <fmt/format.h>

namespace memopt::reports::steps {

using html::escape;

namespace {

constexpr const char* kBarColor = "#1f77b4";
const char* kLineColors[] = {"#d62728", "#1f77b4", "#2ca02c"};

double mb(double bytes) { return to_mb(bytes); } // columns say MB (common/sizes.h)

html::Bar footprint_bar(const Row& row) {
    const Step& s = *row.step;
    html::Bar bar;
    bar.value = mb(static_cast<double>(s.peak_rss_bytes));
    bar.low = mb(static_cast<double>(min_of(s.peak_rss_runs, s.peak_rss_bytes)));
    bar.high = mb(static_cast<double>(max_of(s.peak_rss_runs, s.peak_rss_bytes)));
    bar.note = s.pass == "baseline" ? fmt::format("{:.1f}", bar.value)
                                    : fmt::format("{:.1f} (−{:.1f} MB, {:+.0f}%)", bar.value, mb(row.saved_bytes), -row.saved_pct);
    return bar;
}

std::string what_changed(const Step& step) {
    std::string cell;
    for (const auto& change : step.changes) cell += escape(change) + "<br>";
    if (!step.reason.empty()) cell += "<span class=\"muted\">" + escape(step.reason) + "</span>";
    return cell;
}

std::vector<std::string> table_row(const Row& row) {
    const Step& s = *row.step;
    const bool a = s.accepted;
    auto if_accepted = [a](std::string text) { return a ? text : std::string(); };
    return {escape(row.title),
            a ? "<span class=\"good\">accepted</span>" : "<span class=\"warn\">rejected</span>",
            if_accepted(fmt::format("{:.1f}", mb(static_cast<double>(s.peak_rss_bytes)))),
            if_accepted(fmt::format("{:.1f}–{:.1f}", mb(static_cast<double>(min_of(s.peak_rss_runs, s.peak_rss_bytes))),
                                    mb(static_cast<double>(max_of(s.peak_rss_runs, s.peak_rss_bytes))))),
            if_accepted(s.pass == "baseline" ? "" : fmt::format("{:.1f} ({:.1f} %)", mb(row.saved_bytes), row.saved_pct)),
            if_accepted(fmt::format("{:.1f} %", row.pct_of_baseline)),
            if_accepted(fmt::format("{:.2f}", s.wall_s)),
            what_changed(s)};
}

std::string timelines_section(const Report& report) {
    if (report.timelines.empty())
        return fmt::format("<p class=\"muted\">No traces in this steps.json{} (memopt optimize records the baseline and "
                           "the first accepted step under memopt record).</p>\n",
                           report.steps.traces_note.empty() ? "" : ": " + escape(report.steps.traces_note));
    std::string out = html::line_chart(timeline_chart(report.timelines)) + timeline_table(report.timelines);
    out += "<p class=\"muted\">Each trace's own report: <code>memopt report TRACE --format html</code>. RSS is sampled "
           "on a timer; shaded bands are the phases (<code>memopt.phase()</code>) of the last run shown.</p>\n";
    if (!report.steps.traces_note.empty()) out += "<p class=\"warn\">" + escape(report.steps.traces_note) + "</p>\n";
    return out;
}

std::string heading(const Report& report, const std::vector<Row>& rows) {
    std::string command = report.steps.script;
    for (const auto& arg : report.steps.args) command += " " + arg;
    const Row* last = &rows.front();
    for (const auto& row : rows)
        if (row.step->accepted) last = &row;
    const Step& base = *rows.front().step;
    return fmt::format("<h1>memopt optimize — per-step report</h1>\n<p class=\"mono\">{}</p>\n"
                       "<p>Peak RSS {} → {} ({:.1f} % of the baseline), wall time {:.2f} s → {:.2f} s; final program "
                       "<span class=\"mono\">{}</span>.</p>\n",
                       escape(command), html::megabytes(static_cast<double>(base.peak_rss_bytes)),
                       html::megabytes(static_cast<double>(last->step->peak_rss_bytes)), last->pct_of_baseline, base.wall_s,
                       last->step->wall_s, escape(report.steps.final_program));
}

} // namespace

html::BarChart footprint_chart(const std::vector<Row>& rows) {
    html::BarChart chart;
    chart.title = "Footprint per step (peak RSS, MB) and what each step saved";
    chart.y_label = "MB";
    chart.series = {"peak RSS (median, min–max)"};
    chart.colors = {kBarColor};
    for (const auto& row : rows) {
        html::BarGroup group{row.title, {}};
        if (row.step->accepted) {
            group.bars.push_back(footprint_bar(row));
        } else {
            group.label += " (rejected)";
            group.bars.push_back(html::Bar{0, NAN, NAN, "", true});
        }
        chart.groups.push_back(std::move(group));
    }
    return chart;
}

html::BarChart latency_chart(const std::vector<Row>& rows) {
    html::BarChart chart;
    chart.title = "Latency per step (wall time, s)";
    chart.y_label = "s";
    chart.series = {"wall time (median, min–max)"};
    chart.colors = {kBarColor};
    const double base = rows.empty() ? 0 : rows.front().step->wall_s;
    for (const auto& row : rows) {
        const Step& s = *row.step;
        if (!s.accepted) continue;
        html::Bar bar{s.wall_s, min_of(s.wall_runs, s.wall_s), max_of(s.wall_runs, s.wall_s), "", false};
        bar.note = base > 0 && s.pass != "baseline" ? fmt::format("{:.2f} ({:+.0f}%)", s.wall_s, 100.0 * (s.wall_s - base) / base)
                                                    : fmt::format("{:.2f}", s.wall_s);
        chart.groups.push_back({row.title, {bar}});
    }
    return chart;
}

html::LineChart timeline_chart(const std::vector<Timeline>& timelines) {
    html::LineChart chart;
    chart.title = "Resident memory over time";
    for (std::size_t i = 0; i < timelines.size(); ++i) {
        const auto& t = timelines[i];
        chart.title += (i ? " vs " : ": ") + t.label;
        html::Series series{t.label + " (RSS)", kLineColors[i % std::size(kLineColors)], {}, {}, false, false};
        for (const auto& point : t.summary.timeline) {
            series.x.push_back(point.t_s);
            series.y.push_back(static_cast<double>(point.rss_bytes));
        }
        chart.series.push_back(std::move(series));
    }
    if (!timelines.empty())
        for (const auto& phase : timelines.back().summary.phases)
            chart.bands.push_back({phase.start_s, phase.end_s,
                                   timelines.size() > 1 ? timelines.back().label + ": " + phase.name : phase.name});
    return chart;
}

std::string timeline_table(const std::vector<Timeline>& timelines) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& t : timelines) {
        std::string phases;
        for (const auto& p : t.summary.phases)
            phases += fmt::format("{}{} {:.2f}–{:.2f} s, {:.1f} MB", phases.empty() ? "" : "; ", p.name, p.start_s, p.end_s,
                                  mb(static_cast<double>(p.peak_rss_bytes)));
        rows.push_back({t.label, t.trace, fmt::format("{:.1f}", mb(static_cast<double>(t.summary.peak_rss_bytes))),
                        fmt::format("{:.2f}", t.summary.duration_s), phases.empty() ? "(no phases marked)" : phases});
    }
    return html::table({"run", "trace", "peak RSS (MB)", "duration (s)", "phases (start–end, peak RSS)"}, rows);
}

std::string steps_table(const std::vector<Row>& rows) {
    std::vector<std::vector<std::string>> cells;
    for (const auto& row : rows) cells.push_back(table_row(row));
    return html::table({"step", "", "peak RSS (MB)", "min–max", "saved vs previous", "of baseline", "wall (s)", "what changed"},
                       cells, true);
}

std::string report_html(const Report& report) {
    const auto rows = report_rows(report.steps);
    std::string body = heading(report, rows);
    body += "<h2>Footprint per step</h2>\n" + html::bar_chart(footprint_chart(rows));
    body += "<h2>Memory over time: baseline and first accepted step</h2>\n" + timelines_section(report);
    body += "<h2>Latency per step</h2>\n" + html::bar_chart(latency_chart(rows));
    body += "<h2>Steps</h2>\n" + steps_table(rows);
    body += "<p class=\"muted\">From steps.json (memopt.steps/1) written by memopt optimize: peak RSS is the median of "
            "its measured runs (whiskers: min–max), a step is kept only when its outputs match every reference run and it saves more than the runs' noise (docs/optimize.md). "
            "A pass tried in several rounds appears once. MB = 10<sup>6</sup> bytes.</p>\n";
    return html::page("memopt per-step report: " + report.steps.script, body);
}

} // namespace memopt::reports::steps
