// The per-step report as text and as JSON (memopt.steps-report/1).
#include "common/sizes.h"
#include "reports/render/summary_format.h"
#include "reports/steps/report.h"

#include <fmt/format.h>

namespace memopt::reports::steps {

using nlohmann::json;

namespace {

double mb(double bytes) { return to_mb(bytes); } // columns say MB (common/sizes.h)

std::string words(const std::vector<std::string>& list) {
    std::string out;
    for (const auto& word : list) out += (out.empty() ? "" : " ") + word;
    return out;
}

std::string what_changed(const Step& step) {
    std::string what = step.reason;
    for (const auto& change : step.changes) what += (what.empty() ? "" : "; ") + change;
    return what;
}

std::string text_row(const Row& row) {
    const Step& s = *row.step;
    if (!s.accepted) return fmt::format("{:<24} {:<9} {}\n", row.title, "rejected", what_changed(s));
    const std::string range = fmt::format("{:.1f}–{:.1f}", mb(static_cast<double>(min_of(s.peak_rss_runs, s.peak_rss_bytes))),
                                          mb(static_cast<double>(max_of(s.peak_rss_runs, s.peak_rss_bytes))));
    const std::string saved = s.pass == "baseline" ? "" : fmt::format("{:+.1f} MB ({:+.1f} %)", -mb(row.saved_bytes), -row.saved_pct);
    return fmt::format("{:<24} {:<9} {:>8.1f} MB {:>13} {:>20} {:>6.1f} % {:>7.2f} s  {}\n", row.title, "accepted",
                       mb(static_cast<double>(s.peak_rss_bytes)), range, saved, row.pct_of_baseline, s.wall_s, what_changed(s));
}

std::string text_timeline(const Timeline& t) {
    std::string out = fmt::format("  {}: {} — peak RSS {:.1f} MB, {:.2f} s\n", t.label, t.trace,
                                  mb(static_cast<double>(t.summary.peak_rss_bytes)), t.summary.duration_s);
    for (const auto& p : t.summary.phases)
        out += fmt::format("    phase {}: {:.2f}–{:.2f} s, peak RSS {:.1f} MB\n", p.name, p.start_s, p.end_s,
                           mb(static_cast<double>(p.peak_rss_bytes)));
    return out;
}

json step_json(const Row& row) {
    const Step& s = *row.step;
    json j = {{"step", s.step},         {"pass", s.pass},       {"title", row.title},         {"accepted", s.accepted},
              {"reason", s.reason},     {"changes", s.changes}, {"program", s.program},       {"trace", s.trace}};
    if (!s.accepted) return j;
    j.update({{"peak_rss_bytes", s.peak_rss_bytes},
              {"peak_rss_min_bytes", min_of(s.peak_rss_runs, s.peak_rss_bytes)},
              {"peak_rss_max_bytes", max_of(s.peak_rss_runs, s.peak_rss_bytes)},
              {"peak_rss_runs", s.peak_rss_runs},
              {"wall_s", s.wall_s},
              {"wall_runs", s.wall_runs},
              {"saved_bytes", row.saved_bytes},
              {"saved_pct", row.saved_pct},
              {"pct_of_baseline", row.pct_of_baseline}});
    return j;
}

} // namespace

std::string report_text(const Report& report) {
    const auto rows = report_rows(report.steps);
    std::vector<std::string> command = {report.steps.script};
    command.insert(command.end(), report.steps.args.begin(), report.steps.args.end());
    std::string out = fmt::format("memopt per-step report: {}\n\n", words(command));
    out += fmt::format("{:<24} {:<9} {:>11} {:>13} {:>20} {:>8} {:>9}  {}\n", "step", "verdict", "peak RSS", "min–max (MB)",
                       "saved", "of base", "wall", "what changed");
    for (const auto& row : rows) out += text_row(row);
    const Row* last = nullptr;
    for (const auto& row : rows)
        if (row.step->accepted) last = &row;
    const Step& base = *rows.front().step;
    out += fmt::format("\nbaseline {:.1f} MB, {:.2f} s -> final {:.1f} MB ({:.1f} % of the baseline), {:.2f} s\n",
                       mb(static_cast<double>(base.peak_rss_bytes)), base.wall_s,
                       mb(static_cast<double>(last->step->peak_rss_bytes)), last->pct_of_baseline, last->step->wall_s);
    if (!report.steps.final_command.empty()) out += "final command: " + words(report.steps.final_command) + "\n";
    out += report.timelines.empty() ? "\nno traces recorded" + (report.steps.traces_note.empty() ? std::string(".") : ": " + report.steps.traces_note) + "\n"
                                    : "\nmemory timelines (memopt record):\n";
    for (const auto& timeline : report.timelines) out += text_timeline(timeline);
    return out;
}

json report_json(const Report& report) {
    json steps = json::array(), timelines = json::array();
    for (const auto& row : report_rows(report.steps)) steps.push_back(step_json(row));
    for (const auto& t : report.timelines)
        timelines.push_back({{"label", t.label}, {"step", t.step}, {"pass", t.pass}, {"trace", t.trace},
                             {"summary", summary_to_json(t.summary)}});
    return {{"schema", kStepsReportSchema},
            {"script", report.steps.script},
            {"args", report.steps.args},
            {"final", report.steps.final_program},
            {"final_command", report.steps.final_command},
            {"steps", steps},
            {"timelines", timelines},
            {"traces_note", report.steps.traces_note}};
}

} // namespace memopt::reports::steps
