// index.html of a study: Fig. 2, 3, 4 and Table I as inline SVG and tables, the paper beside ours.
#include "reports/render/html.h"
#include "examples/activity/study/paper.h"
#include "examples/activity/study/study.h"

#include <fmt/format.h>

namespace memopt::reports::study {

using html::escape;

namespace {

constexpr const char* kOurs = "#1f77b4";
constexpr const char* kPaper = "#b0b7c0";

double mb(double bytes) { return bytes / 1e6; }

std::string fig2(const StudyResults& r) {
    html::BarChart chart;
    chart.title = "Fig. 2 — memory footprint per optimization step (peak RSS, MB)";
    chart.y_label = "MB";
    chart.series = {"ours (median, min–max)", "paper"};
    chart.colors = {kOurs, kPaper};
    double previous = 0;
    for (const auto& step : r.steps) {
        html::BarGroup group;
        group.label = std::string(paper::step_title(step.pass));
        html::Bar ours;
        if (step.accepted) {
            const double now = mb(step.peak_rss_bytes.median);
            ours.value = now;
            ours.low = mb(step.peak_rss_bytes.min);
            ours.high = mb(step.peak_rss_bytes.max);
            ours.note = previous > 0 ? fmt::format("{:.1f} ({:+.0f}%)", now, -100.0 * (previous - now) / previous)
                                     : fmt::format("{:.1f}", now);
            previous = now;
        } else {
            ours.missing = true;
            group.label += " (rejected)";
        }
        html::Bar theirs;
        if (const auto value = paper::footprint_mb(step.pass)) {
            theirs.value = *value;
            theirs.note = fmt::format("{:.1f}", *value);
        } else {
            theirs.missing = true;
        }
        group.bars = {ours, theirs};
        chart.groups.push_back(group);
    }
    return html::bar_chart(chart);
}

std::string fig3(const StudyResults& r) {
    if (r.fig3.empty()) return "<p class=\"muted\">No timelines were recorded.</p>\n";
    html::LineChart chart;
    chart.title = "Fig. 3 — resident memory over time: static baseline vs static→dynamic";
    const char* colors[] = {"#d62728", "#1f77b4", "#2ca02c"};
    for (std::size_t i = 0; i < r.fig3.size(); ++i) {
        const auto& timeline = r.fig3[i];
        html::Series series{timeline.label + " (RSS)", colors[i % 3], {}, {}, false, false};
        for (const auto& point : timeline.points) {
            series.x.push_back(point.t_s);
            series.y.push_back(static_cast<double>(point.rss_bytes));
        }
        chart.series.push_back(series);
    }
    // The phases of the static-to-dynamic version, shaded (the baseline's are in the table).
    for (const auto& phase : r.fig3.back().phases)
        chart.bands.push_back({phase.start_s, phase.end_s, (r.fig3.size() > 1 ? "dynamic: " : "") + phase.name});
    std::string out = html::line_chart(chart);
    std::vector<std::vector<std::string>> rows;
    for (const auto& timeline : r.fig3) {
        std::string phases;
        for (const auto& p : timeline.phases)
            phases += fmt::format("{}{} {:.2f}–{:.2f} s, {:.1f} MB", phases.empty() ? "" : "; ", p.name, p.start_s, p.end_s,
                                  mb(static_cast<double>(p.peak_rss_bytes)));
        rows.push_back({timeline.label, fmt::format("{:.1f}", mb(static_cast<double>(timeline.peak_rss_bytes))),
                        fmt::format("{:.2f}", timeline.duration_s), phases});
    }
    out += html::table({"program", "peak RSS (MB)", "duration (s)", "phases (start–end, peak RSS)"}, rows);
    out += "<p class=\"muted\">Full reports of both recordings: ";
    for (std::size_t i = 0; i < r.fig3.size(); ++i) {
        const std::string name = r.fig3[i].pass == "baseline" ? "baseline" : r.fig3[i].pass;
        out += fmt::format("{}<a href=\"traces/{}.html\">{}</a>", i ? ", " : "", escape(name), escape(r.fig3[i].label));
    }
    return out + " (and the traces beside them: <code>memopt report traces/NAME.trace</code>).</p>\n";
}

std::string fig4(const StudyResults& r) {
    html::BarChart chart;
    chart.title = "Fig. 4 — execution latency per optimization step (wall time, s)";
    chart.y_label = "s";
    chart.series = {"ours (median, min–max)"};
    chart.colors = {kOurs};
    const auto accepted = accepted_steps(r);
    const double base = accepted.empty() ? 0 : accepted.front()->wall_s.median;
    for (const StepResult* step : accepted) {
        html::Bar bar;
        bar.value = step->wall_s.median;
        bar.low = step->wall_s.min;
        bar.high = step->wall_s.max;
        bar.note = base > 0 && step != accepted.front()
                       ? fmt::format("{:.2f} ({:+.0f}%)", bar.value, 100.0 * (bar.value - base) / base)
                       : fmt::format("{:.2f}", bar.value);
        chart.groups.push_back({std::string(paper::step_title(step->pass)), {bar}});
    }
    std::string out = html::bar_chart(chart);
    if (accepted.size() > 1 && base > 0)
        out += fmt::format("<p>Ours: {:+.0f} % from the baseline to the last step. Paper: −51 % (its Fig. 4 gives no "
                           "per-step values in the text).</p>\n",
                           100.0 * (accepted.back()->wall_s.median - base) / base);
    return out;
}

std::string table1(const StudyResults& r) {
    const auto accepted = accepted_steps(r);
    if (accepted.empty()) return "";
    const StepResult& last = *accepted.back();
    std::vector<std::vector<std::string>> rows = {
        {fmt::format("Python, optimized ({})", paper::step_title(last.pass)), fmt::format("{:.1f} MB", mb(last.peak_rss_bytes.median)),
         fmt::format("{:.2f} s", last.wall_s.median), fmt::format("{} lines (1x)", last.loc), "92.8 MB", "215 s", "1x"},
        {"native C++ (activity_predict)", fmt::format("{:.2f} MB", mb(r.native.peak_rss_bytes.median)),
         fmt::format("{:.3f} s", r.native.wall_s.median),
         fmt::format("{} lines ({:.1f}x; {:.1f}x the baseline's {})", r.native_loc,
                     last.loc > 0 ? static_cast<double>(r.native_loc) / last.loc : 0.0,
                     accepted.front()->loc > 0 ? static_cast<double>(r.native_loc) / accepted.front()->loc : 0.0,
                     accepted.front()->loc),
         "2.9 MB", "142 s", "3.4x"},
    };
    return html::table({"", "memory (ours)", "latency (ours)", "LoC (ours, cloc)", "memory (paper)", "latency (paper)", "LoC (paper)"},
                       rows);
}

std::string steps_table(const StudyResults& r) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& step : r.steps) {
        std::string changes;
        for (const auto& change : step.changes) changes += escape(change) + "<br>";
        if (!step.reason.empty()) changes += "<span class=\"muted\">" + escape(step.reason) + "</span>";
        rows.push_back({escape(std::string(paper::step_title(step.pass))),
                        step.accepted ? "<span class=\"good\">accepted</span>" : "<span class=\"warn\">rejected</span>",
                        step.accepted ? fmt::format("{:.1f}", mb(step.peak_rss_bytes.median)) : "",
                        step.accepted ? fmt::format("{:.2f}", step.wall_s.median) : "",
                        step.accepted ? (step.predictions_identical ? "<span class=\"good\">identical</span>"
                                                                    : "<span class=\"bad\">DIFFER</span>")
                                      : "",
                        "<span class=\"mono\">" + escape(step.program) + "</span>", changes});
    }
    return html::table({"step", "", "peak RSS (MB)", "latency (s)", "predictions", "program", "what changed"}, rows, true);
}

} // namespace

std::string results_to_html(const StudyResults& r) {
    std::string body = "<h1>memopt study — the paper's evaluation on this machine</h1>\n";
    body += fmt::format("<p class=\"muted\">{} · {}<br>data: {} — {} rows, {} blocks · model: <span class=\"mono\">{}</span><br>"
                        "{} runs per step (bars: median, whiskers: min–max) · the study took {:.0f} s · "
                        "MB = 10<sup>6</sup> bytes, peak RSS from /usr/bin/time</p>\n",
                        escape(r.created), escape(r.machine), escape(r.data_source), r.rows, r.blocks, escape(r.model), r.repeat,
                        r.duration_s);
    body += r.predictions_identical
                ? fmt::format("<p class=\"good\">All {} predictions identical for every step and the native predictor.</p>\n", r.blocks)
                : "<p class=\"bad\">Predictions differ between steps: see the table below.</p>\n";
    body += "<h2>Fig. 2 — footprint per step</h2>\n" + fig2(r);
    body += "<h2>Fig. 3 — static vs dynamic memory management</h2>\n" + fig3(r);
    body += "<h2>Fig. 4 — latency per step</h2>\n" + fig4(r);
    body += "<h2>Table I — Python vs native</h2>\n" + table1(r);
    body += "<h2>Reading the differences</h2>\n<ul>\n";
    for (const auto& line : readings(r)) body += "<li>" + escape(line) + "</li>\n";
    for (const auto& note : r.notes) body += "<li>" + escape(note) + "</li>\n";
    body += "</ul>\n<h2>Steps</h2>\n" + steps_table(r);
    body += "<p class=\"muted\">results.json has every run; results.md the same tables as text; docs/study.md explains "
            "how the study is made and how to read it.</p>\n";
    return html::page("memopt study", body);
}

} // namespace memopt::reports::study
