// index.html of a study: the per-step report's charts (reports/steps) with the paper's values
// beside ours, Table I, the readings and the steps with their prediction checks.
#include "common/sizes.h"
#include "examples/activity/study/paper.h"
#include "examples/activity/study/study.h"
#include "reports/render/html.h"

#include <fmt/format.h>

namespace memopt::reports::study {

using html::escape;

namespace {

constexpr const char* kPaper = "#b0b7c0";

double mb(double bytes) { return memopt::to_mb(bytes); } // tables say MB (common/sizes.h)

// The per-step footprint chart, whiskers from the study's runs, plus the paper's bar per step.
std::string fig2(const std::vector<steps::Row>& rows) {
    html::BarChart chart = steps::footprint_chart(rows);
    chart.title = "Fig. 2 — memory footprint per optimization step (peak RSS, MB)";
    chart.series = {"ours (median, min–max)", "paper"};
    chart.colors.push_back(kPaper);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        html::Bar& ours = chart.groups[i].bars.front();
        if (!ours.missing && i > 0) ours.note = fmt::format("{:.1f} ({:+.0f}%)", ours.value, -rows[i].saved_pct); // room for two bars
        html::Bar theirs;
        const bool again = rows[i].title != paper::step_title(rows[i].step->pass); // "(round 2)": the paper has no second one
        if (const auto value = paper::footprint_mb(rows[i].step->pass); value && !again) {
            theirs.value = *value;
            theirs.note = fmt::format("{:.1f}", *value);
        } else {
            theirs.missing = true;
        }
        chart.groups[i].bars.push_back(theirs);
    }
    return html::bar_chart(chart);
}

std::string fig3(const StudyResults& r) {
    if (r.fig3.empty()) return "<p class=\"muted\">No timelines were recorded.</p>\n";
    html::LineChart chart = steps::timeline_chart(r.fig3);
    chart.title = "Fig. 3 — resident memory over time: static baseline vs static→dynamic";
    std::string out = html::line_chart(chart) + steps::timeline_table(r.fig3);
    out += "<p class=\"muted\">Full reports of both recordings: ";
    for (std::size_t i = 0; i < r.fig3.size(); ++i) {
        std::string page = r.fig3[i].trace;
        page.replace(page.size() - 6, 6, ".html"); // traces/NAME.trace -> traces/NAME.html
        out += fmt::format("{}<a href=\"{}\">{}</a>", i ? ", " : "", escape(page), escape(r.fig3[i].label));
    }
    return out + " (and the traces beside them: <code>memopt report traces/NAME.trace</code>).</p>\n";
}

std::string fig4(const std::vector<steps::Row>& rows) {
    html::BarChart chart = steps::latency_chart(rows);
    chart.title = "Fig. 4 — execution latency per optimization step (wall time, s)";
    chart.series = {"ours (median, min–max)"};
    std::string out = html::bar_chart(chart);
    const steps::Step* last = nullptr;
    for (const auto& row : rows)
        if (row.step->accepted) last = row.step;
    const double base = rows.front().step->wall_s;
    if (last != rows.front().step && base > 0)
        out += fmt::format("<p>Ours: {:+.0f} % from the baseline to the last step. Paper: −51 % (its Fig. 4 gives no "
                           "per-step values in the text).</p>\n",
                           100.0 * (last->wall_s - base) / base);
    return out;
}

std::string table1(const StudyResults& r) {
    const auto accepted = accepted_steps(r);
    if (accepted.empty()) return "";
    const steps::Step& last = *accepted.back();
    const int last_loc = check_of(r, last).loc, base_loc = check_of(r, *accepted.front()).loc, native_loc = r.native.check.loc;
    std::vector<std::vector<std::string>> rows = {
        {fmt::format("Python, optimized ({})", paper::step_title(last.pass)), fmt::format("{:.1f} MB", mb(peak_rss_stat(last).median)),
         fmt::format("{:.2f} s", wall_stat(last).median), fmt::format("{} lines (1x)", last_loc), "92.8 MB", "215 s", "1x"},
        {"native C++ (activity_predict)", fmt::format("{:.2f} MB", mb(r.native.peak_rss_bytes.median)),
         fmt::format("{:.3f} s", r.native.wall_s.median),
         fmt::format("{} lines ({:.1f}x; {:.1f}x the baseline's {})", native_loc,
                     last_loc > 0 ? static_cast<double>(native_loc) / last_loc : 0.0,
                     base_loc > 0 ? static_cast<double>(native_loc) / base_loc : 0.0, base_loc),
         "2.9 MB", "142 s", "3.4x"},
    };
    return html::table({"", "memory (ours)", "latency (ours)", "LoC (ours, cloc)", "memory (paper)", "latency (paper)", "LoC (paper)"},
                       rows);
}

// The per-step table, and the prediction check of each measured program.
std::string steps_section(const StudyResults& r, const std::vector<steps::Row>& rows) {
    std::string out = steps::steps_table(rows);
    std::vector<std::vector<std::string>> checks;
    for (const auto& row : rows) {
        if (!row.step->accepted) continue;
        const Check& check = check_of(r, *row.step);
        checks.push_back({escape(row.title), check.predictions_identical ? "<span class=\"good\">identical</span>"
                                                                         : "<span class=\"bad\">DIFFER</span>",
                          fmt::format("{}", check.predictions), "<span class=\"mono\">" + escape(row.step->program) + "</span>"});
    }
    checks.push_back({"native C++", r.native.check.predictions_identical ? "<span class=\"good\">identical</span>"
                                                                          : "<span class=\"bad\">DIFFER</span>",
                      fmt::format("{}", r.native.check.predictions), "<span class=\"mono\">" + escape(r.native.program) + "</span>"});
    return out + html::table({"program", "predictions, every run", "blocks", "program file"}, checks, true);
}

std::string header(const StudyResults& r) {
    std::string body = "<h1>memopt study — the paper's evaluation on this machine</h1>\n";
    body += fmt::format("<p class=\"muted\">{} · {}<br>data: {} — {} rows, {} blocks · model: <span class=\"mono\">{}</span><br>"
                        "{} runs per step (bars: median, whiskers: min–max) · the study took {:.0f} s · "
                        "MB = 10<sup>6</sup> bytes, peak RSS: the program's own ru_maxrss (docs/peak-rss.md)</p>\n",
                        escape(r.created), escape(r.machine), escape(r.data_source), r.rows, r.blocks, escape(r.model), r.repeat,
                        r.duration_s);
    body += r.predictions_identical
                ? fmt::format("<p class=\"good\">All {} predictions identical for every step and the native predictor.</p>\n", r.blocks)
                : "<p class=\"bad\">Predictions differ between steps: see the table below.</p>\n";
    return body;
}

} // namespace

std::string results_to_html(const StudyResults& r) {
    const auto rows = study_rows(r);
    if (rows.empty()) return html::page("memopt study", header(r));
    std::string body = header(r);
    body += "<h2>Fig. 2 — footprint per step</h2>\n" + fig2(rows);
    body += "<h2>Fig. 3 — static vs dynamic memory management</h2>\n" + fig3(r);
    body += "<h2>Fig. 4 — latency per step</h2>\n" + fig4(rows);
    body += "<h2>Table I — Python vs native</h2>\n" + table1(r);
    body += "<h2>Reading the differences</h2>\n<ul>\n";
    for (const auto& line : readings(r)) body += "<li>" + escape(line) + "</li>\n";
    for (const auto& note : r.notes) body += "<li>" + escape(note) + "</li>\n";
    body += "</ul>\n<h2>Steps</h2>\n" + steps_section(r, rows);
    body += "<p class=\"muted\">results.json has every run; results.md the same tables as text; docs/study.md explains "
            "how the study is made and how to read it. The charts are memopt's per-step report (<code>memopt report "
            "optimize/steps.json</code> draws them from optimize's own runs).</p>\n";
    return html::page("memopt study", body);
}

} // namespace memopt::reports::study
