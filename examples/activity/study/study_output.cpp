// results.json, results.md and the readings of a study.
#include "examples/activity/study/paper.h"
#include "examples/activity/study/study.h"

#include <cmath>
#include <fmt/format.h>

namespace memopt::reports::study {

using nlohmann::json;

namespace {

json stat_json(const Stat& stat) { return {{"median", stat.median}, {"min", stat.min}, {"max", stat.max}, {"runs", stat.runs}}; }

json step_json(const StepResult& step) {
    json j = {{"step", step.step},       {"pass", step.pass},         {"title", paper::step_title(step.pass)},
              {"program", step.program}, {"accepted", step.accepted}, {"reason", step.reason},
              {"changes", step.changes}, {"command", step.command}};
    if (step.accepted) {
        j["peak_rss_bytes"] = stat_json(step.peak_rss_bytes);
        j["wall_s"] = stat_json(step.wall_s);
        j["predictions_identical"] = step.predictions_identical;
        j["predictions"] = step.predictions;
        j["loc"] = step.loc;
    }
    const auto paper_mb = paper::footprint_mb(step.pass);
    j["paper_footprint_mb"] = paper_mb ? json(*paper_mb) : json(nullptr);
    return j;
}

double mb(double bytes) { return bytes / 1e6; }

std::string pct(double value) { return fmt::format("{:+.1f} %", value); }

} // namespace

json results_to_json(const StudyResults& r) {
    json steps = json::array();
    const auto accepted = accepted_steps(r);
    const double base = accepted.empty() ? 0 : accepted.front()->peak_rss_bytes.median;
    double previous = base;
    for (const auto& step : r.steps) {
        json j = step_json(step);
        if (step.accepted && base > 0) {
            j["saved_bytes_vs_previous"] = previous - step.peak_rss_bytes.median;
            j["saved_pct_vs_previous"] = previous > 0 ? 100.0 * (previous - step.peak_rss_bytes.median) / previous : 0.0;
            j["saved_pct_vs_baseline"] = 100.0 * (base - step.peak_rss_bytes.median) / base;
            previous = step.peak_rss_bytes.median;
        }
        steps.push_back(std::move(j));
    }
    json fig3 = json::array();
    for (const auto& timeline : r.fig3) {
        json t = json::array(), rss = json::array(), heap = json::array(), phases = json::array();
        for (const auto& p : timeline.points) {
            t.push_back(std::round(p.t_s * 1e3) / 1e3);
            rss.push_back(p.rss_bytes);
            heap.push_back(p.heap_bytes);
        }
        for (const auto& p : timeline.phases)
            phases.push_back({{"name", p.name}, {"start_s", p.start_s}, {"end_s", p.end_s}, {"peak_rss_bytes", p.peak_rss_bytes}});
        fig3.push_back({{"label", timeline.label}, {"pass", timeline.pass}, {"duration_s", timeline.duration_s},
                        {"peak_rss_bytes", timeline.peak_rss_bytes}, {"t_s", t}, {"rss_bytes", rss}, {"heap_bytes", heap},
                        {"phases", phases}});
    }
    const StepResult* final_step = accepted.empty() ? nullptr : accepted.back();
    json table1 = {
        {"python", final_step ? json{{"pass", final_step->pass}, {"peak_rss_bytes", final_step->peak_rss_bytes.median},
                                     {"wall_s", final_step->wall_s.median}, {"loc", final_step->loc}}
                              : json(nullptr)},
        {"native", {{"peak_rss_bytes", r.native.peak_rss_bytes.median}, {"wall_s", r.native.wall_s.median}, {"loc", r.native_loc}}},
        {"loc_ratio", final_step && final_step->loc > 0 ? json(static_cast<double>(r.native_loc) / final_step->loc) : json(nullptr)},
        {"loc_ratio_vs_baseline", !accepted.empty() && accepted.front()->loc > 0
                                      ? json(static_cast<double>(r.native_loc) / accepted.front()->loc)
                                      : json(nullptr)},
    };
    return {
        {"schema", kStudySchema},
        {"created", r.created},
        {"machine", r.machine},
        {"data", {{"source", r.data_source}, {"rows", r.rows}, {"blocks", r.blocks}}},
        {"model", r.model.empty() ? json(nullptr) : json::parse(r.model, nullptr, false)},
        {"repeat", r.repeat},
        {"duration_s", r.duration_s},
        {"predictions_identical", r.predictions_identical},
        {"steps", steps},
        {"native", step_json(r.native)},
        {"fig3", fig3},
        {"table1", table1},
        {"paper", {{"footprint_mb", {{"baseline", 258.0}, {"static-to-dynamic", 219.0}, {"dead-data", 147.8}, {"flatten", 112.0}, {"flags", 92.8}}},
                   {"memory_saved_pct", paper::kMemorySavedPct},
                   {"latency_saved_pct", paper::kLatencySavedPct},
                   {"table1", {{"python", {{"mb", paper::kPythonMb}, {"latency_s", paper::kPythonLatencyS}, {"loc", "1x"}}},
                               {"c", {{"mb", paper::kNativeMb}, {"latency_s", paper::kNativeLatencyS}, {"loc", "3.4x"}}}}}}},
        {"readings", readings(r)},
        {"notes", r.notes},
    };
}

std::vector<std::string> readings(const StudyResults& r) {
    std::vector<std::string> out;
    const auto accepted = accepted_steps(r);
    if (accepted.empty()) return out;
    const StepResult& base = *accepted.front();
    const StepResult& last = *accepted.back();
    const double base_mb = mb(base.peak_rss_bytes.median), last_mb = mb(last.peak_rss_bytes.median);
    out.push_back(fmt::format(
        "Baseline: {:.1f} MB here against the paper's 258 MB ({:+.0f} %). Both are mostly the interpreter and the "
        "libraries imported up front (numpy, pandas, scikit-learn); the paper used Anaconda's Python and other "
        "library versions, so the starting point differs by what those import.",
        base_mb, 100.0 * (base_mb - 258.0) / 258.0));
    const double saved = base_mb > 0 ? 100.0 * (base_mb - last_mb) / base_mb : 0;
    out.push_back(fmt::format("Overall: {:.1f} → {:.1f} MB, {:.0f} % less memory, against the paper's 258 → 92.8 MB (64 %).",
                              base_mb, last_mb, saved));
    double previous = base_mb;
    for (std::size_t i = 1; i < accepted.size(); ++i) {
        const StepResult& step = *accepted[i];
        const double now = mb(step.peak_rss_bytes.median);
        const auto paper_now = paper::footprint_mb(step.pass);
        // Paper's saving for this pass: from its previous published step.
        std::optional<double> paper_before;
        for (const char* pass : {"flags", "flatten", "dead-data", "static-to-dynamic", "baseline"}) {
            if (pass == step.pass) continue;
            const auto value = paper::footprint_mb(pass);
            if (value && paper_now && *value > *paper_now && (!paper_before || *value < *paper_before)) paper_before = value;
        }
        std::string line = fmt::format("{}: {:.1f} MB saved here ({:.1f} %)", paper::step_title(step.pass), previous - now,
                                       previous > 0 ? 100.0 * (previous - now) / previous : 0.0);
        if (paper_now && paper_before)
            line += fmt::format(", the paper saved {:.1f} MB ({:.1f} %)", *paper_before - *paper_now,
                                100.0 * (*paper_before - *paper_now) / *paper_before);
        out.push_back(line + ".");
        previous = now;
    }
    for (const auto& step : r.steps)
        if (!step.accepted)
            out.push_back(fmt::format("{} was tried and rejected by memopt optimize: {}.", paper::step_title(step.pass),
                                      step.reason.empty() ? "no reason given" : step.reason));
    const double base_s = base.wall_s.median, last_s = last.wall_s.median;
    if (base_s > 0) {
        const double latency = 100.0 * (base_s - last_s) / base_s;
        out.push_back(fmt::format("Latency: {:.2f} → {:.2f} s ({:+.0f} %), the paper reports −51 %. {}", base_s, last_s, -latency,
                                  latency >= 0 ? "Less to import and allocate is also less to do; the paper attributes its "
                                                 "gain to fewer memory accesses."
                                               : "Here the memory savings cost time (e.g. walking trees one at a time or "
                                                 "re-reading data), the trade-off the paper's section II names."));
    }
    if (r.native.peak_rss_bytes.median > 0 && last.peak_rss_bytes.median > 0) {
        const double native_mb = mb(r.native.peak_rss_bytes.median);
        out.push_back(fmt::format(
            "Table I: the native predictor needs {:.1f} MB ({:.1f} % less than the optimized Python; paper: 2.9 MB, 96.8 % less) "
            "and runs {:.1f}x faster (paper: 1.5x, on a different machine for C). The paper's 215 s / 142 s latencies come from "
            "its own, slower set-up; ours are seconds for {} blocks.",
            native_mb, 100.0 * (1 - native_mb / last_mb), r.native.wall_s.median > 0 ? last_s / r.native.wall_s.median : 0.0, r.blocks));
        if (last.loc > 0 && base.loc > 0)
            out.push_back(fmt::format(
                "Lines of code (cloc): native {} against the optimized Python's {} = {:.1f}x, against the baseline's {} = "
                "{:.1f}x (paper 3.4x). The passes inline what the program used from pandas and scikit-learn, so the "
                "optimized Python grows; the C++ parses and validates its CSV and model file itself.",
                r.native_loc, last.loc, static_cast<double>(r.native_loc) / last.loc, base.loc,
                static_cast<double>(r.native_loc) / base.loc));
    }
    out.push_back(r.predictions_identical
                      ? fmt::format("All {} predictions of every step and of the native predictor are byte-identical to the "
                                    "baseline's, in every run.", r.blocks)
                      : "PREDICTIONS DIFFER: at least one step or the native predictor did not reproduce the baseline's "
                        "predictions.csv (see results.json).");
    return out;
}

std::string results_to_markdown(const StudyResults& r) {
    std::string md = "# memopt study: the paper's evaluation on this machine\n\n";
    md += fmt::format("{} · {} · data: {} ({} rows, {} blocks) · {} runs per step (median, min–max) · study took {:.0f} s\n\n",
                      r.created, r.machine, r.data_source, r.rows, r.blocks, r.repeat, r.duration_s);
    md += "## Fig. 2 — memory footprint per step (peak RSS)\n\n| step | ours (MB) | min–max | saved vs previous | paper (MB) |\n|---|---|---|---|---|\n";
    double previous = 0;
    for (const auto& step : r.steps) {
        const auto paper_mb = paper::footprint_mb(step.pass);
        const std::string paper_cell = paper_mb ? fmt::format("{:.1f}", *paper_mb) : "";
        if (!step.accepted) {
            md += fmt::format("| {} | rejected: {} | | | {} |\n", paper::step_title(step.pass), step.reason, paper_cell);
            continue;
        }
        const double now = mb(step.peak_rss_bytes.median);
        md += fmt::format("| {} | {:.1f} | {:.1f}–{:.1f} | {} | {} |\n", paper::step_title(step.pass), now,
                          mb(step.peak_rss_bytes.min), mb(step.peak_rss_bytes.max),
                          previous > 0 ? pct(-100.0 * (previous - now) / previous) : "", paper_cell);
        previous = now;
    }
    md += "\n## Fig. 4 — latency per step (wall time)\n\n| step | ours (s) | min–max | vs baseline |\n|---|---|---|---|\n";
    const auto accepted = accepted_steps(r);
    const double base_s = accepted.empty() ? 0 : accepted.front()->wall_s.median;
    for (const StepResult* step : accepted)
        md += fmt::format("| {} | {:.2f} | {:.2f}–{:.2f} | {} |\n", paper::step_title(step->pass), step->wall_s.median,
                          step->wall_s.min, step->wall_s.max,
                          base_s > 0 ? pct(100.0 * (step->wall_s.median - base_s) / base_s) : "");
    md += "\nPaper: −51 % from the baseline to the final step.\n";
    md += "\n## Fig. 3 — static baseline vs static→dynamic (memopt record)\n\n| program | peak RSS (MB) | duration (s) | phases (peak RSS MB) |\n|---|---|---|---|\n";
    for (const auto& timeline : r.fig3) {
        std::string phases;
        for (const auto& p : timeline.phases) phases += fmt::format("{}{} {:.1f}", phases.empty() ? "" : ", ", p.name, mb(p.peak_rss_bytes));
        md += fmt::format("| {} | {:.1f} | {:.2f} | {} |\n", timeline.label, mb(timeline.peak_rss_bytes), timeline.duration_s, phases);
    }
    md += "\n## Table I — Python vs native\n\n| | memory | latency | LoC |\n|---|---|---|---|\n";
    if (!accepted.empty()) {
        const StepResult& last = *accepted.back();
        md += fmt::format("| Python, optimized ({}) | {:.1f} MB | {:.2f} s | {} (1x) |\n", last.pass, mb(last.peak_rss_bytes.median),
                          last.wall_s.median, last.loc);
        md += fmt::format("| native C++ | {:.2f} MB | {:.3f} s | {} ({:.1f}x; {:.1f}x the baseline's {}) |\n",
                          mb(r.native.peak_rss_bytes.median), r.native.wall_s.median, r.native_loc,
                          last.loc > 0 ? static_cast<double>(r.native_loc) / last.loc : 0.0,
                          accepted.front()->loc > 0 ? static_cast<double>(r.native_loc) / accepted.front()->loc : 0.0,
                          accepted.front()->loc);
    }
    md += "| paper: Python | 92.8 MB | 215 s | 1x |\n| paper: C | 2.9 MB | 142 s | 3.4x |\n";
    md += "\n## Reading the differences\n\n";
    for (const auto& line : readings(r)) md += "- " + line + "\n";
    for (const auto& note : r.notes) md += "- " + note + "\n";
    md += "\n## What each pass changed\n\n";
    for (const auto& step : r.steps) {
        if (step.pass == "baseline") continue;
        md += fmt::format("- **{}** ({}){}\n", paper::step_title(step.pass), step.accepted ? "accepted" : "rejected",
                          step.reason.empty() ? "" : ": " + step.reason);
        for (const auto& change : step.changes) md += "  - " + change + "\n";
    }
    return md;
}

} // namespace memopt::reports::study
