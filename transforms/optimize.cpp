// The optimize loop in named steps: check the inputs, stage the output directory, run the
// baseline, probe, the rounds over the passes (each candidate: run the pass, compare its
// output, measure it, accept or reject), then write final/, steps.json and steps.md and
// keep the directory (removed when any step fails). baseline_measured() and step_accepted()
// are where the baseline run and each accepted step are known.
#include "transforms/optimize.h"

#include "common/error.h"
#include "common/paths.h"
#include "common/sizes.h"
#include "transforms/acceptance.h"
#include "transforms/candidate_search.h"
#include "transforms/passes.h"
#include "transforms/verify.h"
#include "transforms/output_dir.h"
#include "transforms/step_traces.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

namespace fs = std::filesystem;
using nlohmann::json;

namespace memopt::transforms {

namespace {

bool g_quiet = false;
int g_planned_runs = 0; // runs made so far plus those the loop still expects (plan_runs)
std::chrono::steady_clock::time_point g_start;

// One line on stderr; a line announcing a step ("memopt optimize: step 3 flags ...") ends
// with the estimate of what is left, `[12/30 runs, ~40 s left]`: the runs planned and the
// time per run so far (elapsed time over the program runs made, transforms/measure.h's
// tally: runs made two at a time count half).
void progress(const std::string& text) {
    if (g_quiet) return;
    const RunTally tally = run_tally();
    const bool step_line = text.size() > 4 && text.substr(text.size() - 4) == " ...";
    if (!step_line || tally.runs == 0) return (void)fmt::print(stderr, "{}\n", text);
    const int planned = std::max(g_planned_runs, tally.runs);
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - g_start).count();
    const double left = (planned - tally.runs) * elapsed / tally.runs;
    fmt::print(stderr, "{} [{}/{} runs, ~{:.0f} s left]\n", text, tally.runs, planned, left);
}

double mb(std::uint64_t bytes) { return to_mb(static_cast<double>(bytes)); }

// The state of one optimize run.
struct Loop {
    Loop(const OptimizeOptions& o, const fs::path& out_dir, fs::path script_path)
        : options(o), out(out_dir), script(std::move(script_path)), args(resolve_args(o.args)), runs_dir(out_dir / ".runs") {}

    const OptimizeOptions& options;
    fs::path out;                    // OUT_DIR, absolute
    fs::path script;                 // absolute
    std::vector<std::string> args;   // existing files made absolute (steps.json's commands)
    fs::path runs_dir;               // scratch directories of every run, removed at the end
    std::unique_ptr<Verifier> verifier; // the sandbox every run uses, and the baseline's outputs
    Comparison comparison;           // what "same output" rests on
    std::optional<fs::path> profile; // from the probe
    Program current;                 // the program of the last accepted step
    std::vector<TracedStep> traced;  // the baseline and the first accepted step (step_traces.h)
    fs::path current_dir;            // its step directory
    std::uint64_t baseline_peak = 0;
    std::uint64_t peak = 0;          // median peak RSS of `current`
    std::vector<std::uint64_t> peak_runs; // its measured runs (the acceptance rule's noise)
    std::uint64_t screen_peak = 0;   // its hooked run's peak (the screening of candidates; 0: none)
    int version = 0;                 // accepted steps so far: which program `current` is
    int source_version = 0;          // accepted rewrite steps so far: which source `current` has
    std::string made_by;             // the pass whose step `current` is ("" for the baseline)
    std::string source_made_by;      // the rewrite pass whose step made `current`'s source ("" for the baseline)
    std::map<std::string, std::pair<int, int>> seen; // per pass, the version and source version it last ran on
    int number = 0;                  // the last step number given
    json doc;
    json steps = json::array();

    bool threshold_met() const { return options.threshold_bytes && peak <= *options.threshold_bytes; }
};

json step_entry(const Loop& loop, int number, const std::string& pass, const fs::path& dir, const Program& program) {
    json e;
    e["step"] = number;
    e["pass"] = pass;
    e["dir"] = dir.empty() ? "" : fs::relative(dir, loop.out).string();
    e["program"] = dir.empty() ? "" : fs::relative(program.path, loop.out).string();
    e["command"] = dir.empty() ? json::array() : json(command_line(program, loop.args, true));
    e["cwd"] = dir.empty() ? json(nullptr) : json(fs::absolute(dir).string());
    return e;
}

void set_measurement(json& e, const Measurement& m, std::uint64_t before) {
    e["peak_rss_bytes"] = m.peak_rss_bytes;
    e["peak_rss_runs"] = m.peak_rss_runs;
    e["wall_s"] = m.wall_s;
    e["wall_runs"] = m.wall_runs;
    const double saved = static_cast<double>(before) - static_cast<double>(m.peak_rss_bytes);
    e["saved_bytes"] = static_cast<std::int64_t>(saved);
    e["saved_pct"] = before ? 100.0 * saved / static_cast<double>(before) : 0.0;
}

// "candidates: 5 kept, 2 dropped" (steps.md)
std::string candidate_counts(const json& candidates) {
    const auto kept = std::count_if(candidates.begin(), candidates.end(), [](const json& c) { return c.value("kept", false); });
    return fmt::format("candidates: {} kept, {} dropped", kept, static_cast<std::ptrdiff_t>(candidates.size()) - kept);
}

void write_markdown(const json& doc, const fs::path& path) {
    std::ofstream md(path);
    const double base = doc["baseline"]["peak_rss_bytes"].get<double>();
    const double base_t = doc["baseline"]["wall_s"].get<double>();
    md << "# memopt optimize: " << doc["script"].get<std::string>() << "\n\n";
    md << "| step | pass | accepted | peak RSS | wall | saved | % of baseline | what changed |\n";
    md << "|---|---|---|---|---|---|---|---|\n";
    for (const auto& s : doc["steps"]) {
        const bool measured = s.contains("peak_rss_bytes");
        std::string what;
        if (!s["accepted"].get<bool>()) what = s["reason"].get<std::string>();
        for (const auto& c : s["changes"]) what += (what.empty() ? "" : "; ") + c.get<std::string>();
        if (s.contains("candidates")) what += (what.empty() ? "" : "; ") + candidate_counts(s["candidates"]);
        for (auto& ch : what) if (ch == '|' || ch == '\n') ch = ' ';
        md << fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} |\n", s["step"].get<int>(), s["pass"].get<std::string>(),
                          s["accepted"].get<bool>() ? "yes" : "no",
                          measured ? format_mb(s["peak_rss_bytes"].get<double>()) : "",
                          measured ? fmt::format("{:.2f} s", s["wall_s"].get<double>()) : "",
                          measured ? fmt::format("{:.1f} MB ({:.1f} %)", to_mb(s["saved_bytes"].get<double>()),
                                                 s["saved_pct"].get<double>()) : "",
                          measured ? fmt::format("{:.1f} %", 100.0 * s["peak_rss_bytes"].get<double>() / base) : "", what);
    }
    if (doc.contains("comparison")) {
        const auto& c = doc["comparison"];
        md << "\nCompared: " << (c["method"] == "check" ? std::string("the --check command")
                                 : c["method"] == "outputs" || c["method"] == "outputs, entropy pinned"
                                     ? "exit status, " + fmt::format("{}", fmt::join(c["outputs"].get<std::vector<std::string>>(), ", "))
                                                            : std::string("the exit status only"))
           << fmt::format(" ({} reference runs; sandbox: {}).", c["reference_runs"].get<int>(), c["sandbox"].get<std::string>());
        if (!c["note"].get<std::string>().empty()) md << " **" << c["note"].get<std::string>() << ".**";
        md << "\n";
    }
    if (doc.contains("probe"))
        md << "\nProbe: " << (doc["probe"]["note"].get<std::string>().empty() ? "profile " + doc["probe"]["profile"].get<std::string>() + " passed to the passes"
                                                                            : doc["probe"]["note"].get<std::string>()) << ".\n";
    md << fmt::format("\nBaseline {} in {:.2f} s; final program `{}`: `{}`.\n", format_mb(base), base_t,
                      doc["final"].get<std::string>(), fmt::format("{}", fmt::join(doc["final_command"].get<std::vector<std::string>>(), " ")));
    std::vector<std::string> diffs;
    for (const auto& s : doc["steps"])
        if (s.contains("diff") && s["accepted"].get<bool>()) diffs.push_back(fmt::format("`{}`", s["diff"].get<std::string>()));
    if (!doc["final_diff"].get<std::string>().empty())
        md << fmt::format("\nChanges to review: `{}` (the final program against the script); per accepted step {}.\n",
                          doc["final_diff"].get<std::string>(), fmt::join(diffs, ", "));
}

void copy_step(const fs::path& from, const fs::path& to) {
    fs::create_directories(to);
    for (const auto& entry : fs::directory_iterator(from)) {
        if (entry.path().filename() == "__pycache__") continue;
        fs::copy(entry.path(), to / entry.path().filename(), fs::copy_options::recursive | fs::copy_options::overwrite_existing);
    }
}

// Runs `memopt probe` on the baseline. On failure returns nothing and `note` says why in one
// line; the passes then use static analysis only.
std::optional<fs::path> run_probe(const Program& program, Sandbox& sandbox, const fs::path& out, std::string& note) {
    const fs::path profile = out / "profile.json";
    sandbox.reset();
    RunSpec spec;
    spec.argv = {(self_directory() / "memopt").string(), "probe", "-o", profile.string(), "--", program.path.string()};
    spec.argv.insert(spec.argv.end(), sandbox.args().begin(), sandbox.args().end());
    spec.cwd = sandbox.cwd();
    spec.env["MPLBACKEND"] = "Agg";
    spec.env["TMPDIR"] = sandbox.tmp().string();
    std::string why;
    try {
        const RunOutcome r = run_once(spec);
        if (r.status == 0 && fs::exists(profile)) {
            note = "";
            return profile;
        }
        why = r.status != 0 ? fmt::format("exit status {}", r.status) : "no profile written";
    } catch (const Error& e) {
        why = e.what();
    }
    fs::remove(profile);
    note = fmt::format("probe failed ({}); the passes use static analysis only", why);
    progress("memopt optimize: " + note);
    return std::nullopt;
}

fs::path checked_script(const OptimizeOptions& o) {
    if (!fs::is_regular_file(o.script)) throw Error(fmt::format("{}: no such file", o.script.string()));
    if (o.runs < 1) throw Error("--runs must be at least 1");
    if (o.jobs < 1 || o.jobs > 2) throw Error("--jobs must be 1 or 2");
    for (const std::string& pass : o.passes) find_pass(pass); // an unknown name fails before anything runs
    return fs::absolute(o.script).lexically_normal();
}

// Step 0 is known: the baseline program (loop.current, in loop.current_dir) ran in RUN_DIR
// with loop.args and measured `base`. The place for anything recorded of the baseline run.
void baseline_measured(Loop& loop, const fs::path& /*run_dir*/, const Measurement& base) {
    loop.baseline_peak = loop.peak = base.peak_rss_bytes;
    loop.peak_runs = base.peak_rss_runs;
    loop.doc["baseline"] = {{"peak_rss_bytes", base.peak_rss_bytes}, {"wall_s", base.wall_s}};
    json e0 = step_entry(loop, 0, "baseline", loop.current_dir, loop.current);
    e0["accepted"] = true;
    e0["reason"] = "";
    set_measurement(e0, base, base.peak_rss_bytes);
    e0["changes"] = json::array();
    loop.steps.push_back(e0);
}

// What the comparison rests on, in steps.json, steps.md and on stderr.
void comparison_established(Loop& loop) {
    const Comparison& c = loop.comparison;
    loop.doc["comparison"] = {{"method", c.method}, {"outputs", c.outputs}, {"note", c.note}, {"sandbox", c.sandbox},
                              {"reference_runs", loop.options.reference_runs},
                              {"compare_stderr", loop.options.compare_stderr}};
    progress("memopt optimize: sandbox: " + c.sandbox);
    if (c.method == "check") progress("memopt optimize: candidates are compared by --check");
    else if (!c.outputs.empty())
        progress(fmt::format("memopt optimize: compared outputs: exit status, {}", fmt::join(c.outputs, ", ")));
    if (!c.note.empty()) progress("memopt optimize: " + c.note);
}

// Step 0: the script copied into OUT/step0-baseline (so that every step lives in OUT), the
// sandbox every run uses, the reference runs (verify.h), its measurement.
void run_baseline(Loop& loop) {
    const OptimizeOptions& o = loop.options;
    PassInput copy_input;
    copy_input.program.path = loop.script;
    copy_input.out_dir = loop.out / "step0-baseline";
    loop.current = run_python_pass("copy", copy_input).program;
    loop.traced = {{0, loop.current}};
    loop.current_dir = copy_input.out_dir;
    progress(fmt::format("memopt optimize: baseline {} ...", loop.script.string()));
    VerifyOptions verify;
    verify.check = o.check;
    verify.compare_stderr = o.compare_stderr;
    verify.reference_runs = o.reference_runs;
    verify.jobs = o.jobs;
    verify.limits.max_bytes = o.sandbox_max_bytes;
    loop.verifier = std::make_unique<Verifier>(loop.runs_dir / "verify", fs::current_path(), o.args,
                                               std::vector<fs::path>{loop.out}, verify);
    loop.comparison = loop.verifier->establish(loop.current, o.script.string());
    loop.screen_peak = loop.verifier->reference_peak(); // hooked runs, as every candidate's check
    comparison_established(loop);
    const fs::path run_dir = loop.verifier->sandbox().cwd();
    const Measurement base = loop.verifier->measure(loop.current, o.runs, o.script.string());
    progress(fmt::format("memopt optimize: step 0 baseline: peak RSS {}, {:.2f} s (median of {})",
                         format_mb(static_cast<double>(base.peak_rss_bytes)), base.wall_s, o.runs));
    baseline_measured(loop, run_dir, base);
}

// Whether `pass` would see nothing new: the current program is the one it last ran on, or
// its own result with nothing accepted since (a pass applies all it can in one go). A rewrite
// pass reads the source alone: for it, only the source counts (a launcher step changes none).
bool unchanged_for(const Loop& loop, const std::string& pass) {
    const auto it = loop.seen.find(pass);
    if (it == loop.seen.end()) return false;
    const auto& [version, source_version] = it->second;
    if (find_pass(pass).kind == PassKind::Rewrite)
        return source_version == loop.source_version ||
               (loop.source_made_by == pass && source_version == loop.source_version - 1);
    return version == loop.version || (loop.made_by == pass && version == loop.version - 1);
}

// The runs the loop still expects from `passes[next]` on in this round, and the traces after:
// one check run per rewrite pass still to run, a launcher's trials with its check and
// measured runs (the measured runs of a rewrite step are added once its screening passed).
void plan_runs(const Loop& loop, const std::vector<std::string>& passes, std::size_t next, int extra = 0) {
    int left = extra + 1 + (loop.traced.size() > 1 ? 1 : 0);
    for (std::size_t i = next; i < passes.size(); ++i) {
        if (i != next && unchanged_for(loop, passes[i])) continue;
        const bool launcher = find_pass(passes[i]).kind == PassKind::Launcher;
        left += launcher ? launcher_trial_count(loop.options.allow_env_flags) + 1 + loop.options.runs : 1;
    }
    g_planned_runs = run_tally().runs + left;
}

void run_probe_step(Loop& loop) {
    std::string note = "not run (--no-probe)";
    if (loop.options.probe) {
        plan_runs(loop, loop.options.passes.empty() ? pass_names() : loop.options.passes, 0, 1);
        progress("memopt optimize: probe ...");
        loop.profile = run_probe(loop.current, loop.verifier->sandbox(), loop.out, note);
    }
    loop.doc["probe"] = {{"profile", loop.profile ? fs::relative(*loop.profile, loop.out).string() : ""}, {"note", note}};
}

PassInput pass_input(const Loop& loop, const fs::path& out_dir) {
    PassInput input;
    input.program = loop.current;
    input.args = loop.args;
    input.out_dir = out_dir;
    input.profile = loop.profile;
    input.work_dir = loop.runs_dir;
    input.runs = loop.options.runs;
    input.current_peak_runs = loop.peak_runs;
    input.verifier = loop.verifier.get();
    input.allow_env_flags = loop.options.allow_env_flags;
    input.current_screen_peak = loop.screen_peak;
    input.progress = progress;
    return input;
}

void reject(Loop& loop, json& e, const std::string& reason, const std::string& said) {
    e["accepted"] = false;
    e["reason"] = reason;
    progress("memopt optimize:   " + said);
    loop.steps.push_back(e);
}

// A step is accepted: `report.program` (in `dir`) ran in RUN_DIR with loop.args, with the
// baseline's output, and measured `m`, below the previous peak; it becomes the current
// program. The place for anything recorded of an accepted step (loop.number is its number).
void step_accepted(Loop& loop, const PassReport& report, const fs::path& dir, const fs::path& /*run_dir*/,
                   const Measurement& m, const Check& check) {
    loop.screen_peak = check.hooked == loop.verifier->reference_hooked() ? check.peak_rss_bytes : 0;
    ++loop.version;
    if (find_pass(report.name).kind == PassKind::Rewrite) {
        ++loop.source_version;
        loop.source_made_by = report.name;
    }
    loop.made_by = report.name;
    loop.current = report.program;
    loop.current_dir = dir;
    if (loop.traced.size() == 1) loop.traced.push_back({loop.number, report.program});
    loop.peak = m.peak_rss_bytes;
    loop.peak_runs = m.peak_rss_runs;
}

// Measures a candidate whose output is the baseline's and gives the verdict; true when accepted.
bool judge_measured(Loop& loop, json& e, const PassReport& r, const fs::path& dir, const fs::path& run_dir,
                    const Check& check) {
    const Measurement m = loop.verifier->measure(r.program, loop.options.runs, r.program.path.string());
    set_measurement(e, m, loop.peak);
    const Acceptance verdict = judge_saving(loop.peak_runs, m.peak_rss_runs);
    const bool lower = verdict.keep;
    e["accepted"] = lower;
    e["reason"] = verdict.reason;
    e["needed_saving_bytes"] = verdict.needed_bytes;
    if (lower) e["proven"] = loop.comparison.method != "exit status only";
    progress(fmt::format("memopt optimize:   peak RSS {} ({:+.1f} MB, {:+.1f} %), {:.2f} s: {}",
                         format_mb(static_cast<double>(m.peak_rss_bytes)), -to_mb(e["saved_bytes"].get<double>()),
                         -e["saved_pct"].get<double>(), m.wall_s, lower ? "accepted" : "rejected: " + verdict.reason));
    for (const auto& c : r.changes) progress("memopt optimize:     " + c);
    loop.steps.push_back(e);
    if (lower) step_accepted(loop, r, dir, run_dir, m, check);
    return lower;
}

// The screening of a checked candidate (docs/optimize.md, "Speed"): its checked run against
// the current program's, one run each, by the acceptance rule (only its minimum applies to
// single runs). Both load the runtime hook, whose cost (an audit hook; the rendering of the
// figures, which a candidate passing the check draws identically) is in both. "" when the
// candidate goes on to its measured runs, else why not. A run the hook could not see (-I,
// -E, -S) is not screened.
std::string screened_out(const Loop& loop, const Check& check, json& e) {
    if (!loop.screen_peak || check.hooked != loop.verifier->reference_hooked()) return "";
    e["screen_peak_rss_bytes"] = check.peak_rss_bytes;
    e["screen_current_bytes"] = loop.screen_peak;
    const Acceptance verdict = screen_saving(loop.screen_peak, check.peak_rss_bytes, loop.peak_runs);
    return verdict.keep ? "" : verdict.reason + "; not measured further";
}

// The candidates of a pass (steps.json): each with whether it is in the program judged.
json candidates_json(const std::vector<CandidateVerdict>& verdicts) {
    json list = json::array();
    for (const CandidateVerdict& v : verdicts)
        list.push_back({{"id", v.candidate.id}, {"estimated_saving_bytes", v.candidate.estimated_saving_bytes},
                        {"what", v.candidate.what}, {"kept", v.kept}, {"reason", v.reason}});
    return list;
}

// The pass's program applying every candidate failed the check: look for the largest passing
// subset (transforms/candidate_search.h), each try the pass run with --select into scratch
// space and one check run. The passing subset's program replaces the step's (r, check).
void search_candidates(Loop& loop, json& e, const std::string& pass, const PassInput& input, PassReport& r, Check& check) {
    int tries = 0;
    std::optional<std::pair<PassReport, Check>> passing;
    fs::path passing_dir;
    const TrySubset try_subset = [&](const std::vector<std::string>& ids) -> std::string {
        PassInput in = input;
        in.select = ids;
        in.out_dir = loop.runs_dir / fmt::format("select-{}", ++tries);
        const PassReport sub = run_pass(pass, in);
        if (!sub.applied) return "not applicable: " + sub.reason;
        const Check c = loop.verifier->check(sub.program);
        if (!c.difference.empty()) fs::remove_all(in.out_dir);
        else {
            if (!passing_dir.empty()) fs::remove_all(passing_dir);
            passing = std::make_pair(sub, c);
            passing_dir = in.out_dir;
        }
        return c.difference;
    };
    progress(fmt::format("memopt optimize:   {} candidates fail together ({}): searching the largest subset that passes",
                         r.candidates.size(), check.difference));
    const int one_failing = 2 * static_cast<int>(std::ceil(std::log2(static_cast<double>(r.candidates.size())))) + 2;
    g_planned_runs += std::min(loop.options.max_candidate_runs, one_failing); // the tries if one candidate fails
    const SubsetSearch s = search_passing_subset(r.candidates, check.difference, try_subset, loop.options.max_candidate_runs);
    e["candidates"] = candidates_json(s.verdicts);
    e["candidate_check_runs"] = s.tries;
    progress(fmt::format("memopt optimize:   {} of {} candidates kept after {} check runs{}", s.kept.size(), r.candidates.size(),
                         s.tries, s.capped ? " (the cap, --max-candidate-runs)" : ""));
    if (s.kept.empty() || !passing) return; // the step fails with the difference of all candidates
    fs::remove_all(input.out_dir);
    fs::rename(passing_dir, input.out_dir);
    const fs::path inner = fs::relative(passing->first.program.path, passing_dir);
    r = passing->first;
    r.program.path = input.out_dir / inner;
    if (!r.diff.empty()) r.diff = input.out_dir / fs::relative(passing->first.diff, passing_dir);
    check = passing->second;
    e["program"] = fs::relative(r.program.path, loop.out).string();
    e["changes"] = r.changes;
}

// One step: run `pass` on the current program, check its output (searching the passing
// subset of its candidates when they fail together), screen it, measure it. A pass that does
// not apply is listed in the first round only. True when the step was accepted.
bool try_pass(Loop& loop, const std::string& pass, int round) {
    ++loop.number;
    const std::string dir_name = fmt::format("step{}-{}", loop.number, pass);
    const PassInput input = pass_input(loop, loop.out / dir_name);
    progress(fmt::format("memopt optimize: step {} {} ...", loop.number, pass));
    PassReport r = run_pass(pass, input);
    json e = step_entry(loop, loop.number, pass, r.applied ? input.out_dir : fs::path(), r.program);
    e["changes"] = r.changes;
    if (!r.diff.empty()) e["diff"] = fs::relative(r.diff, loop.out).string();
    if (!r.applied) {
        fs::remove_all(input.out_dir);
        if (round > 0) { --loop.number; return false; } // said once already
        reject(loop, e, "not applicable: " + r.reason, "not applicable: " + r.reason);
        return false;
    }
    const fs::path run_dir = loop.verifier->sandbox().cwd();
    // Its first measured run goes beside the check (verify.h): wasted only when the check or
    // the screening turns the step down.
    Check check = loop.verifier->check(r.program, /*measure_beside=*/true);
    if (!check.difference.empty() && !r.candidates.empty()) search_candidates(loop, e, pass, input, r, check);
    else if (!r.candidates.empty())
        e["candidates"] = candidates_json([&] {
            std::vector<CandidateVerdict> all;
            for (const PassCandidate& c : r.candidates) all.push_back({c, true, ""});
            return all;
        }());
    if (!check.difference.empty()) {
        reject(loop, e, "output differs: " + check.difference, "rejected, output differs: " + check.difference);
        return false;
    }
    if (const std::string why = screened_out(loop, check, e); !why.empty()) {
        reject(loop, e, why, "rejected by its " + why);
        return false;
    }
    g_planned_runs += find_pass(pass).kind == PassKind::Rewrite ? loop.options.runs : 0;
    return judge_measured(loop, e, r, input.out_dir, run_dir, check);
}

// The passes in order, round after round, until a round improves nothing, the threshold is
// met or the rounds are used up. A pass is not run again on a program it has already seen.
void run_rounds(Loop& loop) {
    const std::vector<std::string> passes = loop.options.passes.empty() ? pass_names() : loop.options.passes;
    for (int round = 0; round < loop.options.max_rounds && !loop.threshold_met(); ++round) {
        bool improved = false;
        for (std::size_t i = 0; i < passes.size(); ++i) {
            if (loop.threshold_met()) break;
            if (unchanged_for(loop, passes[i])) continue;
            plan_runs(loop, passes, i);
            loop.seen[passes[i]] = {loop.version, loop.source_version};
            improved |= try_pass(loop, passes[i], round);
        }
        if (!improved) break;
    }
}

// OUT/final/, steps.md and steps.json; returns the final program.
Program write_results(Loop& loop) {
    json& doc = loop.doc;
    doc["steps"] = loop.steps;
    // The per-step report's memory timelines, recorded in the sandbox like every other run
    // (before the runs' scratch space, which holds the sandbox, goes).
    record_step_traces(doc, loop.out, loop.traced, loop.verifier->sandboxes(), progress);
    fs::remove_all(loop.runs_dir);
    copy_step(loop.current_dir, loop.out / "final");
    Program final_program = loop.current;
    final_program.path = loop.out / "final" / loop.current.path.filename();
    doc["final"] = fs::relative(final_program.path, loop.out).string();
    const auto final_diff = write_program_diff(loop.script, final_program.path, loop.out / "final");
    doc["final_diff"] = final_diff ? fs::relative(*final_diff, loop.out).string() : "";
    doc["final_command"] = command_line(final_program, loop.args);
    doc["final_peak_rss_bytes"] = loop.peak;
    doc["threshold_bytes"] = loop.options.threshold_bytes ? json(*loop.options.threshold_bytes) : json(nullptr);
    write_markdown(doc, loop.out / "steps.md");
    std::ofstream(loop.out / "steps.json") << doc.dump(2) << "\n"; // last: its presence means complete
    return final_program;
}

} // namespace

OptimizeResult optimize(const OptimizeOptions& o) {
    g_quiet = o.quiet;
    g_start = std::chrono::steady_clock::now();
    const fs::path script = checked_script(o);
    OutputDirectory output(o.out_dir); // removed again unless kept below
    Loop loop(o, output.path(), script);
    loop.doc = {{"schema", "memopt.steps/1"}, {"script", script.string()}, {"args", o.args}};
    run_baseline(loop);
    if (loop.comparison.method != "varies") { // else nothing can be proven: the baseline is the result
        run_probe_step(loop);
        run_rounds(loop);
    }
    const Program final_program = write_results(loop);
    output.keep();
    const RunTally tally = run_tally();
    progress(fmt::format("memopt optimize: {} -> {} ({:.1f} % of the baseline); final program {}; table {} "
                         "({} runs of the program in {} rounds, {:.0f} s)",
                         format_mb(static_cast<double>(loop.baseline_peak)), format_mb(static_cast<double>(loop.peak)),
                         100.0 * mb(loop.peak) / mb(loop.baseline_peak), final_program.path.string(),
                         (loop.out / "steps.md").string(), tally.runs, tally.rounds,
                         std::chrono::duration<double>(std::chrono::steady_clock::now() - g_start).count()));
    return {loop.baseline_peak, loop.peak, !o.threshold_bytes || loop.threshold_met(), final_program.path};
}

} // namespace memopt::transforms
