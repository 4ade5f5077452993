// results.json and results.md of a study.
#include "common/sizes.h"
#include "examples/activity/study/paper.h"
#include "examples/activity/study/study.h"

#include <cmath>
#include <fmt/format.h>

namespace memopt::reports::study {

using nlohmann::json;

namespace {

json stat_json(const Stat& stat) { return {{"median", stat.median}, {"min", stat.min}, {"max", stat.max}, {"runs", stat.runs}}; }

json paper_mb(const std::string& pass) {
    const auto value = paper::footprint_mb(pass);
    return value ? json(*value) : json(nullptr);
}

json step_json(const StudyResults& r, const steps::Row& row) {
    const steps::Step& step = *row.step;
    json j = {{"step", step.step},       {"pass", step.pass},         {"title", row.title},
              {"program", step.program}, {"accepted", step.accepted}, {"reason", step.reason},
              {"changes", step.changes}, {"command", step.command},
              {"paper_footprint_mb", row.title == paper::step_title(step.pass) ? paper_mb(step.pass) : json(nullptr)}};
    if (!step.accepted) return j;
    const Check& check = check_of(r, step);
    j.update({{"peak_rss_bytes", stat_json(peak_rss_stat(step))},
              {"wall_s", stat_json(wall_stat(step))},
              {"predictions_identical", check.predictions_identical},
              {"predictions", check.predictions},
              {"loc", check.loc},
              {"saved_bytes_vs_previous", row.saved_bytes},
              {"saved_pct_vs_previous", row.saved_pct},
              {"saved_pct_vs_baseline", 100.0 - row.pct_of_baseline}});
    return j;
}

json native_json(const StudyResults& r) {
    return {{"step", 0},           {"pass", "native"},       {"title", paper::step_title("native")},
            {"program", r.native.program},                   {"accepted", true},
            {"peak_rss_bytes", stat_json(r.native.peak_rss_bytes)}, {"wall_s", stat_json(r.native.wall_s)},
            {"predictions_identical", r.native.check.predictions_identical},
            {"predictions", r.native.check.predictions},     {"loc", r.native.check.loc}, {"paper_footprint_mb", nullptr}};
}

json fig3_json(const std::vector<steps::Timeline>& timelines) {
    json fig3 = json::array();
    for (const auto& timeline : timelines) {
        json t = json::array(), rss = json::array(), heap = json::array(), phases = json::array();
        for (const auto& p : timeline.summary.timeline) {
            t.push_back(std::round(p.t_s * 1e3) / 1e3);
            rss.push_back(p.rss_bytes);
            heap.push_back(p.heap_bytes);
        }
        for (const auto& p : timeline.summary.phases)
            phases.push_back({{"name", p.name}, {"start_s", p.start_s}, {"end_s", p.end_s}, {"peak_rss_bytes", p.peak_rss_bytes}});
        fig3.push_back({{"label", timeline.label}, {"pass", timeline.pass}, {"trace", timeline.trace},
                        {"duration_s", timeline.summary.duration_s}, {"peak_rss_bytes", timeline.summary.peak_rss_bytes},
                        {"t_s", t}, {"rss_bytes", rss}, {"heap_bytes", heap}, {"phases", phases}});
    }
    return fig3;
}

json ratio(int numerator, int denominator) {
    return denominator > 0 ? json(static_cast<double>(numerator) / denominator) : json(nullptr);
}

json table1_json(const StudyResults& r) {
    const auto accepted = accepted_steps(r);
    const steps::Step* last = accepted.empty() ? nullptr : accepted.back();
    const int last_loc = last ? check_of(r, *last).loc : 0, base_loc = accepted.empty() ? 0 : check_of(r, *accepted.front()).loc;
    return {{"python", last ? json{{"pass", last->pass}, {"peak_rss_bytes", peak_rss_stat(*last).median},
                                   {"wall_s", wall_stat(*last).median}, {"loc", last_loc}}
                            : json(nullptr)},
            {"native", {{"peak_rss_bytes", r.native.peak_rss_bytes.median}, {"wall_s", r.native.wall_s.median}, {"loc", r.native.check.loc}}},
            {"loc_ratio", ratio(r.native.check.loc, last_loc)},
            {"loc_ratio_vs_baseline", ratio(r.native.check.loc, base_loc)}};
}

json paper_json() {
    return {{"footprint_mb", {{"baseline", 258.0}, {"static-to-dynamic", 219.0}, {"dead-data", 147.8}, {"flatten", 112.0}, {"flags", 92.8}}},
            {"memory_saved_pct", paper::kMemorySavedPct},
            {"latency_saved_pct", paper::kLatencySavedPct},
            {"table1", {{"python", {{"mb", paper::kPythonMb}, {"latency_s", paper::kPythonLatencyS}, {"loc", "1x"}}},
                        {"c", {{"mb", paper::kNativeMb}, {"latency_s", paper::kNativeLatencyS}, {"loc", "3.4x"}}}}}};
}

double mb(double bytes) { return memopt::to_mb(bytes); } // tables say MB (common/sizes.h)

std::string pct(double value) { return fmt::format("{:+.1f} %", value); }

std::string markdown_fig2(const std::vector<steps::Row>& rows) {
    std::string md = "## Fig. 2 — memory footprint per step (peak RSS)\n\n| step | ours (MB) | min–max | saved vs previous | paper (MB) |\n|---|---|---|---|---|\n";
    for (const auto& row : rows) {
        const steps::Step& step = *row.step;
        const auto paper_value = paper::footprint_mb(step.pass);
        const bool again = row.title != paper::step_title(step.pass); // a later round of the same pass
        const std::string paper_cell = paper_value && !again ? fmt::format("{:.1f}", *paper_value) : "";
        if (!step.accepted) {
            md += fmt::format("| {} | rejected: {} | | | {} |\n", row.title, step.reason, paper_cell);
            continue;
        }
        const Stat rss = peak_rss_stat(step);
        md += fmt::format("| {} | {:.1f} | {:.1f}–{:.1f} | {} | {} |\n", row.title, mb(rss.median), mb(rss.min), mb(rss.max),
                          step.pass == "baseline" ? "" : pct(-row.saved_pct), paper_cell);
    }
    return md;
}

std::string markdown_fig3_fig4(const StudyResults& r, const std::vector<steps::Row>& rows) {
    std::string md = "\n## Fig. 4 — latency per step (wall time)\n\n| step | ours (s) | min–max | vs baseline |\n|---|---|---|---|\n";
    const double base_s = wall_stat(*rows.front().step).median;
    for (const auto& row : rows) {
        if (!row.step->accepted) continue;
        const Stat wall = wall_stat(*row.step);
        md += fmt::format("| {} | {:.2f} | {:.2f}–{:.2f} | {} |\n", row.title, wall.median, wall.min, wall.max,
                          base_s > 0 ? pct(100.0 * (wall.median - base_s) / base_s) : "");
    }
    md += "\nPaper: −51 % from the baseline to the final step.\n";
    md += "\n## Fig. 3 — static baseline vs static→dynamic (memopt record)\n\n| program | peak RSS (MB) | duration (s) | phases (peak RSS MB) |\n|---|---|---|---|\n";
    for (const auto& timeline : r.fig3) {
        std::string phases;
        for (const auto& p : timeline.summary.phases)
            phases += fmt::format("{}{} {:.1f}", phases.empty() ? "" : ", ", p.name, mb(static_cast<double>(p.peak_rss_bytes)));
        md += fmt::format("| {} | {:.1f} | {:.2f} | {} |\n", timeline.label, mb(static_cast<double>(timeline.summary.peak_rss_bytes)),
                          timeline.summary.duration_s, phases);
    }
    return md;
}

std::string markdown_table1(const StudyResults& r) {
    std::string md = "\n## Table I — Python vs native\n\n| | memory | latency | LoC |\n|---|---|---|---|\n";
    const auto accepted = accepted_steps(r);
    if (!accepted.empty()) {
        const steps::Step& last = *accepted.back();
        const int last_loc = check_of(r, last).loc, base_loc = check_of(r, *accepted.front()).loc, native_loc = r.native.check.loc;
        md += fmt::format("| Python, optimized ({}) | {:.1f} MB | {:.2f} s | {} (1x) |\n", last.pass, mb(peak_rss_stat(last).median),
                          wall_stat(last).median, last_loc);
        md += fmt::format("| native C++ | {:.2f} MB | {:.3f} s | {} ({:.1f}x; {:.1f}x the baseline's {}) |\n",
                          mb(r.native.peak_rss_bytes.median), r.native.wall_s.median, native_loc,
                          last_loc > 0 ? static_cast<double>(native_loc) / last_loc : 0.0,
                          base_loc > 0 ? static_cast<double>(native_loc) / base_loc : 0.0, base_loc);
    }
    return md + "| paper: Python | 92.8 MB | 215 s | 1x |\n| paper: C | 2.9 MB | 142 s | 3.4x |\n";
}

} // namespace

json results_to_json(const StudyResults& r) {
    json steps_out = json::array();
    for (const auto& row : study_rows(r)) steps_out.push_back(step_json(r, row));
    return {
        {"schema", kStudySchema},
        {"created", r.created},
        {"machine", r.machine},
        {"data", {{"source", r.data_source}, {"rows", r.rows}, {"blocks", r.blocks}}},
        {"model", r.model.empty() ? json(nullptr) : json::parse(r.model, nullptr, false)},
        {"repeat", r.repeat},
        {"duration_s", r.duration_s},
        {"predictions_identical", r.predictions_identical},
        {"steps", steps_out},
        {"native", native_json(r)},
        {"fig3", fig3_json(r.fig3)},
        {"table1", table1_json(r)},
        {"paper", paper_json()},
        {"readings", readings(r)},
        {"notes", r.notes},
    };
}

std::string results_to_markdown(const StudyResults& r) {
    const auto rows = study_rows(r);
    std::string md = "# memopt study: the paper's evaluation on this machine\n\n";
    md += fmt::format("{} · {} · data: {} ({} rows, {} blocks) · {} runs per step (median, min–max) · study took {:.0f} s\n\n",
                      r.created, r.machine, r.data_source, r.rows, r.blocks, r.repeat, r.duration_s);
    md += markdown_fig2(rows) + markdown_fig3_fig4(r, rows) + markdown_table1(r);
    md += "\n## Reading the differences\n\n";
    for (const auto& line : readings(r)) md += "- " + line + "\n";
    for (const auto& note : r.notes) md += "- " + note + "\n";
    md += "\n## What each pass changed\n\n";
    for (const auto& row : rows) {
        const steps::Step& step = *row.step;
        if (step.pass == "baseline") continue;
        md += fmt::format("- **{}** ({}){}\n", row.title, step.accepted ? "accepted" : "rejected",
                          step.reason.empty() ? "" : ": " + step.reason);
        for (const auto& change : step.changes) md += "  - " + change + "\n";
    }
    return md;
}

} // namespace memopt::reports::study
