// The launcher passes (the pass table's kind "launcher"; the flags pass, step 5 of the
// paper): interpreter options and runtime settings, each measured.
// Every candidate is added to the set kept so far and run once in the sandbox: the output
// check (transforms/verify.h), whose peak RSS is the candidate's screening measurement; it
// stays only when the output is unchanged and that one run passes the loop's acceptance rule
// (transforms/acceptance.h) against the screening run of what was kept before. The launcher
// kept is then confirmed by `runs` measured runs: by the loop as the step's measurement, or
// here when the pass runs alone. Options
// that change how the program sees its environment (-s, -E, -S, -I) are tried only with
// --allow-env-flags, and their label says what they change. The pass's Python module
// (python/memopt/transforms/flags.py) then writes the program with the chosen launcher
// (shebang line, run.sh).
#include "common/error.h"
#include "common/sizes.h"
#include "transforms/acceptance.h"
#include "transforms/passes.h"
#include "transforms/verify.h"

#include <algorithm>
#include <memory>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

namespace memopt::transforms {

namespace {

struct Candidate {
    std::string label;
    std::vector<std::string> flags;
    std::map<std::string, std::string> env;
    std::string is_default = ""; // a Python expression, true when the interpreter already does this
};

// Options that change the program's contract with its environment (offered only with
// --allow-env-flags). The output check cannot exercise what they change: a PYTHONPATH, a
// user site or a .pth file the user relies on elsewhere.
const std::vector<Candidate>& environment_candidates() {
    static const std::vector<Candidate> list = {
        {"-s (environment: the user site-packages directory is left off sys.path)", {"-s"}, {}},
        {"-E (environment: every PYTHON* variable, PYTHONPATH included, is ignored)", {"-E"}, {}},
        {"-S (environment: no site module: no site-packages or .pth entries on sys.path, no sitecustomize)", {"-S"}, {}},
        {"-I (environment: isolated mode: -E and -s, and the script's directory is left off sys.path)", {"-I"}, {}},
    };
    return list;
}

std::vector<Candidate> candidates(bool allow_env_flags) {
    std::vector<Candidate> list = {
        {"-OO (no docstrings, no asserts)", {"-OO"}, {}},
        {"-X no_debug_ranges", {"-X", "no_debug_ranges"}, {}},
        // on by default in an installed 3.11 (not in a source build): then there is nothing to try
        {"-X frozen_modules=on", {"-X", "frozen_modules=on"}, {}, "__import__('_imp').is_frozen('os')"},
    };
    if (allow_env_flags) list.insert(list.end(), environment_candidates().begin(), environment_candidates().end());
    const std::vector<Candidate> settings = {
        {"thread pools of one thread", {}, {{"OPENBLAS_NUM_THREADS", "1"}, {"OMP_NUM_THREADS", "1"}, {"MKL_NUM_THREADS", "1"}}},
        {"MALLOC_ARENA_MAX=1", {}, {{"MALLOC_ARENA_MAX", "1"}}},
        {"MALLOC_TRIM_THRESHOLD_=131072 MALLOC_TOP_PAD_=0", {}, {{"MALLOC_TRIM_THRESHOLD_", "131072"}, {"MALLOC_TOP_PAD_", "0"}}},
        {"MALLOC_MMAP_THRESHOLD_=131072", {}, {{"MALLOC_MMAP_THRESHOLD_", "131072"}}},
        {"PYTHONMALLOC=malloc", {}, {{"PYTHONMALLOC", "malloc"}}},
    };
    list.insert(list.end(), settings.begin(), settings.end());
    return list;
}

void say(const PassInput& input, const std::string& text) {
    if (input.progress) input.progress(text);
}

// Whether `program` already runs with every option and setting of `c`.
bool has_candidate(const Program& program, const Candidate& c) {
    bool all = true;
    for (const auto& f : c.flags)
        all &= std::find(program.python_flags.begin(), program.python_flags.end(), f) != program.python_flags.end();
    for (const auto& [k, v] : c.env) all &= program.env.count(k) && program.env.at(k) == v;
    return all;
}

// Whether `c` keeps the runtime hook from loading (-I, -E, -S): its trial is screened by a
// measured run, not by its checked run.
bool hides_hook(const Candidate& c) {
    for (const std::string& f : c.flags)
        if (f == "-I" || f == "-E" || f == "-S") return true;
    return false;
}

// Whether the interpreter already runs with `c` (its is_default expression holds): a trial
// would run the same program twice.
bool interpreter_default(const Candidate& c) {
    if (c.is_default.empty()) return false;
    RunSpec spec;
    spec.argv = {kPython, "-c", "import sys; sys.exit(0 if (" + c.is_default + ") else 1)"};
    spec.tallied = false;
    return run_once(spec).status == 0;
}

Program with_candidate(Program program, const Candidate& c) {
    program.python_flags.insert(program.python_flags.end(), c.flags.begin(), c.flags.end());
    for (const auto& [k, v] : c.env) program.env[k] = v;
    return program;
}

// The launcher being built: the program with the candidates kept so far, the peak of its
// screening run, and one line per candidate tried.
struct Search {
    Program chosen;
    std::uint64_t screen_peak = 0;                  // hooked run of `chosen` (the reference's for the input)
    std::vector<std::uint64_t> measured_runs;       // measured runs to screen against when the hook cannot load
    bool hook_hidden = false;                       // an option kept hides the hook (-I, -E, -S): screen by measuring
    std::vector<std::string> measured;
};

// The trial's screening peak: its checked run when the hook loaded as in the reference runs
// (the hook's cost is then in both); else (-I, -E, -S) one measured run, compared with the
// measured runs of the input. The verdict is of one run each (only the minimum applies).
struct Screening {
    Acceptance verdict;
    std::uint64_t peak = 0;
    bool by_check = true; // the peak is the checked run's
};

Screening screen(const PassInput& input, Verifier& verifier, const Program& trial, const Check& check, Search& search) {
    if (check.hooked == verifier.reference_hooked() && !search.hook_hidden)
        return {screen_saving(search.screen_peak, check.peak_rss_bytes, input.current_peak_runs), check.peak_rss_bytes, true};
    if (search.measured_runs.empty())
        search.measured_runs = verifier.measure(input.program, input.runs, input.program.path.string()).peak_rss_runs;
    const std::uint64_t peak = verifier.measure(trial, 1, input.program.path.string()).peak_rss_bytes;
    std::vector<std::uint64_t> runs = search.measured_runs;
    std::sort(runs.begin(), runs.end());
    return {screen_saving(runs[runs.size() / 2], peak, search.measured_runs), peak, false};
}

// Runs `c` on top of what is kept, once in the sandbox: the output check and the screening
// measurement (docs/optimize.md, "Speed"); keeps it when the output is the same and the
// screening run passes the acceptance rule. The loop confirms the launcher kept with --runs
// measured runs (or search_launcher does, when the pass runs alone).
// Returns whether `c` was kept.
bool judge_candidate(const PassInfo& pass, const PassInput& input, Verifier& verifier, const Candidate& c, const Check& check,
                     Search& search) {
    const Program trial = with_candidate(search.chosen, c);
    if (!check.difference.empty()) {
        search.measured.push_back(fmt::format("{}: rejected, {}", c.label, check.difference));
        say(input, fmt::format("  {}: {} rejected: {}", pass.name, c.label, check.difference));
        return false;
    }
    const Screening s = screen(input, verifier, trial, check, search);
    search.measured.push_back(fmt::format("{}: screening run {} ({:+.1f} MB){}", c.label, format_mb(static_cast<double>(s.peak)),
                                          -to_mb(static_cast<double>(s.verdict.saved_bytes)),
                                          s.verdict.keep ? ", kept" : ", not kept"));
    say(input, fmt::format("  {}: {}", pass.name, search.measured.back()));
    if (!s.verdict.keep) return false;
    search.chosen = trial;
    if (s.by_check) search.screen_peak = s.peak;
    else {
        search.hook_hidden = true; // later trials are screened by measured runs too
        search.measured_runs = {s.peak};
    }
    return true;
}

// The trials in order, each on top of what is kept before it. Two at a time when the
// verifier can (verify.h, check_two): the next trial is run beside, on the guess that the
// first is not kept (most are not); when the first is kept, the guess is dropped and the next
// trial is made again on top of it. Either way each trial is judged on exactly the program
// one-at-a-time trials would run. A trial that hides the hook is never run beside.
void run_trials(const PassInfo& pass, const PassInput& input, Verifier& verifier, const std::vector<Candidate>& trials,
                Search& search) {
    for (std::size_t i = 0; i < trials.size(); ++i) {
        const bool beside = verifier.can_check_two() && i + 1 < trials.size() && !search.hook_hidden &&
                            !hides_hook(trials[i]) && !hides_hook(trials[i + 1]);
        if (!beside) {
            judge_candidate(pass, input, verifier, trials[i], verifier.check(with_candidate(search.chosen, trials[i])), search);
            continue;
        }
        const auto [first, second] =
            verifier.check_two(with_candidate(search.chosen, trials[i]), with_candidate(search.chosen, trials[i + 1]));
        if (judge_candidate(pass, input, verifier, trials[i], first, search)) continue; // the guess is void
        judge_candidate(pass, input, verifier, trials[i + 1], second, search);
        ++i;
    }
}

// Run alone (memopt transform), nothing confirms the screening: the launcher is measured
// `runs` times against the input and kept by the acceptance rule; "" when kept, else why not.
std::string confirm_alone(const PassInput& input, Verifier& verifier, const Search& search) {
    const Measurement before = verifier.measure(input.program, input.runs, input.program.path.string());
    const Measurement after = verifier.measure(search.chosen, input.runs, input.program.path.string());
    return judge_saving(before.peak_rss_runs, after.peak_rss_runs).reason;
}

} // namespace

int launcher_trial_count(bool allow_env_flags) { return static_cast<int>(candidates(allow_env_flags).size()); }

PassReport search_launcher(const PassInfo& pass, const PassInput& input) {
    const fs::path work = input.work_dir / pass.name;
    // Run alone (memopt transform), the pass makes its own sandbox and reference.
    std::unique_ptr<Verifier> own;
    if (!input.verifier) {
        own = std::make_unique<Verifier>(work / "verify", fs::current_path(), input.args,
                                         std::vector<fs::path>{input.work_dir, input.out_dir}, VerifyOptions{});
        own->establish(input.program, input.program.path.string());
    }
    Verifier& verifier = input.verifier ? *input.verifier : *own;
    const std::uint64_t screen_peak = input.current_screen_peak ? input.current_screen_peak : verifier.reference_peak();
    Search search{input.program, screen_peak, input.current_peak_runs, false, {}};
    std::vector<Candidate> trials;
    for (const Candidate& c : candidates(input.allow_env_flags)) {
        if (has_candidate(search.chosen, c)) continue;
        if (interpreter_default(c)) search.measured.push_back(c.label + ": not tried, the interpreter's default");
        else trials.push_back(c);
    }
    run_trials(pass, input, verifier, trials, search);
    std::string unconfirmed;
    const bool changed = search.chosen.python_flags != input.program.python_flags || search.chosen.env != input.program.env;
    if (!input.verifier && changed) unconfirmed = confirm_alone(input, verifier, search);
    own.reset();
    fs::remove_all(work);
    const std::string measured = fmt::format("{}", fmt::join(search.measured, "; "));
    if (!changed || !unconfirmed.empty()) {
        PassReport report;
        report.name = pass.name;
        report.program = input.program;
        report.reason = unconfirmed.empty() ? "no option lowered peak memory with the same output (" + measured + ")"
                                            : "the options kept by their screening runs (" + measured +
                                                  ") were not confirmed by the measured runs: " + unconfirmed;
        return report;
    }
    const nlohmann::json launcher = {{"python_flags", search.chosen.python_flags}, {"env", search.chosen.env}};
    PassReport written = run_python_pass(pass.name, input, launcher.dump());
    written.program.python_flags = search.chosen.python_flags;
    written.program.env = search.chosen.env;
    written.changes.push_back("screened: " + measured);
    return written;
}

} // namespace memopt::transforms
