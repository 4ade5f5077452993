#include "transforms/optimize.h"

#include "common/error.h"
#include "common/paths.h"
#include "common/sizes.h"
#include "transforms/passes.h"
#include "transforms/step_traces.h"

#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>

namespace fs = std::filesystem;
using nlohmann::json;

namespace memopt::transforms {

namespace {

bool g_quiet = false;
void progress(const std::string& text) {
    if (!g_quiet) fmt::print(stderr, "{}\n", text);
}

double mb(std::uint64_t bytes) { return static_cast<double>(bytes) / 1e6; }

json step_entry(int number, const std::string& pass, const fs::path& out, const fs::path& dir, const Program& program,
                const std::vector<std::string>& args) {
    json e;
    e["step"] = number;
    e["pass"] = pass;
    e["dir"] = dir.empty() ? "" : fs::relative(dir, out).string();
    e["program"] = dir.empty() ? "" : fs::relative(program.path, out).string();
    e["command"] = dir.empty() ? json::array() : json(command_line(program, args, true));
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
        for (auto& ch : what) if (ch == '|' || ch == '\n') ch = ' ';
        md << fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} |\n", s["step"].get<int>(), s["pass"].get<std::string>(),
                          s["accepted"].get<bool>() ? "yes" : "no",
                          measured ? format_mb(s["peak_rss_bytes"].get<double>()) : "",
                          measured ? fmt::format("{:.2f} s", s["wall_s"].get<double>()) : "",
                          measured ? fmt::format("{:.1f} MB ({:.1f} %)", s["saved_bytes"].get<double>() / 1e6,
                                                 s["saved_pct"].get<double>()) : "",
                          measured ? fmt::format("{:.1f} %", 100.0 * s["peak_rss_bytes"].get<double>() / base) : "", what);
    }
    if (doc.contains("probe"))
        md << "\nProbe: " << (doc["probe"]["note"].get<std::string>().empty() ? "profile " + doc["probe"]["profile"].get<std::string>() + " passed to the passes"
                                                                            : doc["probe"]["note"].get<std::string>()) << ".\n";
    md << fmt::format("\nBaseline {} in {:.2f} s; final program `{}`: `{}`.\n", format_mb(base), base_t,
                      doc["final"].get<std::string>(), fmt::format("{}", fmt::join(doc["final_command"].get<std::vector<std::string>>(), " ")));
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
std::optional<fs::path> run_probe(const Program& program, const std::vector<std::string>& args, const fs::path& out,
                                  std::string& note) {
    const fs::path profile = out / "profile.json";
    RunSpec spec;
    spec.argv = {(self_directory() / "memopt").string(), "probe", "-o", profile.string(), "--", program.path.string()};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end()); // existing files made absolute
    spec.cwd = out / ".runs" / "probe";
    fs::create_directories(spec.cwd);
    spec.env["MPLBACKEND"] = "Agg";
    std::string why;
    try {
        const RunOutcome r = run_once(spec);
        if (r.status == 0 && fs::exists(profile)) {
            fs::remove_all(spec.cwd);
            note = "";
            return profile;
        }
        why = r.status != 0 ? fmt::format("exit status {}", r.status) : "no profile written";
    } catch (const Error& e) {
        why = e.what();
    }
    fs::remove_all(spec.cwd);
    fs::remove(profile);
    note = fmt::format("probe failed ({}); the passes use static analysis only", why);
    progress("memopt optimize: " + note);
    return std::nullopt;
}

} // namespace

OptimizeResult optimize(const OptimizeOptions& o) {
    g_quiet = o.quiet;
    if (!fs::is_regular_file(o.script)) throw Error(fmt::format("{}: no such file", o.script.string()));
    if (o.runs < 1) throw Error("--runs must be at least 1");
    const fs::path script = fs::absolute(o.script).lexically_normal();
    const fs::path out = fs::absolute(o.out_dir).lexically_normal();
    if (fs::exists(out) && !fs::is_empty(out))
        throw Error(fmt::format("{}: output directory exists and is not empty", o.out_dir.string()));
    if (script.parent_path() == out) throw Error("the output directory is the script's own directory");
    fs::create_directories(out);
    const fs::path runs_dir = out / ".runs";
    const std::vector<std::string> args = resolve_args(o.args);

    // step 0: the baseline, copied so that every step lives in OUT_DIR
    PassInput copy_input;
    copy_input.program.path = script;
    copy_input.out_dir = out / "step0-baseline";
    Program current = run_python_pass("copy", copy_input).program;
    progress(fmt::format("memopt optimize: baseline {} ...", script.string()));
    const Snapshot reference = capture(current, args, runs_dir / "step0");
    if (reference.status != 0)
        throw Error(fmt::format("{} exited with status {} in the baseline run{}", o.script.string(), reference.status,
                                reference.err_tail.empty() ? "" : ": " + reference.err_tail));
    if (!o.check.empty()) {
        const std::string why = run_check(o.check, runs_dir / "step0");
        if (!why.empty()) throw Error("the baseline does not pass its own check: " + why);
    }
    const Measurement base = measure(run_spec(current, args, runs_dir / "step0"), o.runs, o.script.string());
    progress(fmt::format("memopt optimize: step 0 baseline: peak RSS {}, {:.2f} s (median of {})",
                         format_mb(static_cast<double>(base.peak_rss_bytes)), base.wall_s, o.runs));

    json doc;
    doc["schema"] = "memopt.steps/1";
    doc["script"] = script.string();
    doc["args"] = o.args;
    doc["baseline"] = {{"peak_rss_bytes", base.peak_rss_bytes}, {"wall_s", base.wall_s}};
    json steps = json::array();
    json e0 = step_entry(0, "baseline", out, out / "step0-baseline", current, args);
    e0["accepted"] = true;
    e0["reason"] = "";
    set_measurement(e0, base, base.peak_rss_bytes);
    e0["changes"] = json::array();
    steps.push_back(e0);

    std::optional<fs::path> profile;
    std::string probe_note = "not run (--no-probe)";
    if (o.probe) {
        progress("memopt optimize: probe ...");
        profile = run_probe(current, args, out, probe_note);
    }
    doc["probe"] = {{"profile", profile ? fs::relative(*profile, out).string() : ""}, {"note", probe_note}};

    std::uint64_t peak = base.peak_rss_bytes;
    fs::path current_dir = out / "step0-baseline";
    auto met = [&] { return o.threshold_bytes && peak <= *o.threshold_bytes; };
    int number = 0;
    for (int round = 0; round < o.max_rounds && !met(); ++round) {
        bool improved = false;
        for (const std::string& pass : o.passes) {
            if (met()) break;
            ++number;
            const std::string dir_name = fmt::format("step{}-{}", number, pass);
            PassInput input;
            input.program = current;
            input.args = args;
            input.out_dir = out / dir_name;
            input.profile = profile;
            input.work_dir = runs_dir;
            input.runs = o.runs;
            input.current_peak_rss = peak;
            input.progress = progress;
            progress(fmt::format("memopt optimize: step {} {} ...", number, pass));
            PassReport r = run_pass(pass, input);
            json e = step_entry(number, pass, out, r.applied ? input.out_dir : fs::path(), r.program, args);
            e["changes"] = r.changes;
            if (!r.applied) {
                fs::remove_all(input.out_dir);
                if (round > 0) { --number; continue; } // said once already
                e["accepted"] = false;
                e["reason"] = "not applicable: " + r.reason;
                progress(fmt::format("memopt optimize:   not applicable: {}", r.reason));
                steps.push_back(e);
                continue;
            }
            const fs::path run_dir = runs_dir / dir_name;
            const Snapshot snap = capture(r.program, args, run_dir);
            std::string why = difference(reference, snap);
            if (why.empty() && !o.check.empty()) why = run_check(o.check, run_dir);
            if (!why.empty()) {
                e["accepted"] = false;
                e["reason"] = "output differs: " + why;
                progress(fmt::format("memopt optimize:   rejected, output differs: {}", why));
                steps.push_back(e);
                continue;
            }
            const Measurement m = measure(run_spec(r.program, args, run_dir), o.runs, r.program.path.string());
            set_measurement(e, m, peak);
            const bool lower = m.peak_rss_bytes < peak;
            e["accepted"] = lower;
            e["reason"] = lower ? "" : fmt::format("peak RSS not lower ({} vs {})", format_mb(static_cast<double>(m.peak_rss_bytes)),
                                                   format_mb(static_cast<double>(peak)));
            progress(fmt::format("memopt optimize:   peak RSS {} ({:+.1f} MB, {:+.1f} %), {:.2f} s: {}",
                                 format_mb(static_cast<double>(m.peak_rss_bytes)), -e["saved_bytes"].get<double>() / 1e6,
                                 -e["saved_pct"].get<double>(), m.wall_s, lower ? "accepted" : "rejected, not lower"));
            for (const auto& c : r.changes) progress("memopt optimize:     " + c);
            steps.push_back(e);
            if (lower) {
                current = r.program;
                current_dir = input.out_dir;
                peak = m.peak_rss_bytes;
                improved = true;
            }
        }
        if (!improved) break;
    }
    fs::remove_all(runs_dir);
    copy_step(current_dir, out / "final");
    Program final_program = current;
    final_program.path = out / "final" / current.path.filename();
    doc["steps"] = steps;
    doc["final"] = fs::relative(final_program.path, out).string();
    doc["final_command"] = command_line(final_program, args);
    doc["final_peak_rss_bytes"] = peak;
    doc["threshold_bytes"] = o.threshold_bytes ? json(*o.threshold_bytes) : json(nullptr);
    // The per-step report's memory timelines: baseline and first accepted step (step_traces.h).
    record_step_traces(doc, out, progress);
    std::ofstream(out / "steps.json") << doc.dump(2) << "\n";
    write_markdown(doc, out / "steps.md");
    progress(fmt::format("memopt optimize: {} -> {} ({:.1f} % of the baseline); final program {}; table {}",
                         format_mb(static_cast<double>(base.peak_rss_bytes)), format_mb(static_cast<double>(peak)),
                         100.0 * mb(peak) / mb(base.peak_rss_bytes), final_program.path.string(), (out / "steps.md").string()));
    OptimizeResult result;
    result.baseline_peak = base.peak_rss_bytes;
    result.final_peak = peak;
    result.threshold_met = !o.threshold_bytes || met();
    result.final_program = final_program.path;
    return result;
}

} // namespace memopt::transforms
