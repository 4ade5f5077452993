// The launcher passes (the pass table's kind "launcher"; the flags pass, step 5 of the
// paper): interpreter options and runtime settings, each measured.
// Every candidate is added to the set kept so far, run once in the sandbox for the output
// check (transforms/verify.h) and `runs` times for peak RSS; it stays only when the output is
// unchanged and the loop's one acceptance rule (transforms/acceptance.h) keeps it. Options
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
        {"-X frozen_modules=on", {"-X", "frozen_modules=on"}, {}},
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

Program with_candidate(Program program, const Candidate& c) {
    program.python_flags.insert(program.python_flags.end(), c.flags.begin(), c.flags.end());
    for (const auto& [k, v] : c.env) program.env[k] = v;
    return program;
}

// The launcher being built: the program with the candidates kept so far, its median peak,
// and one line per candidate tried.
struct Search {
    Program chosen;
    std::vector<std::uint64_t> best_runs; // peak RSS of each measured run of `chosen`
    std::vector<std::string> measured;
};

// Runs `c` on top of what is kept: once in the sandbox for the output check, `runs` times
// for the peak; keeps it when the output is the same and the acceptance rule says so.
void try_candidate(const PassInfo& pass, const PassInput& input, Verifier& verifier, const Candidate& c, Search& search) {
    const Program trial = with_candidate(search.chosen, c);
    const std::string diff = verifier.compare(trial);
    if (!diff.empty()) {
        search.measured.push_back(fmt::format("{}: rejected, {}", c.label, diff));
        say(input, fmt::format("  {}: {} rejected: {}", pass.name, c.label, diff));
        return;
    }
    const Measurement m = verifier.measure(trial, input.runs, input.program.path.string());
    const Acceptance verdict = judge_saving(search.best_runs, m.peak_rss_runs);
    search.measured.push_back(fmt::format("{}: peak {} ({:+.1f} MB){}", c.label, format_mb(static_cast<double>(m.peak_rss_bytes)),
                                          -static_cast<double>(verdict.saved_bytes) / 1e6,
                                          verdict.keep ? ", kept" : ", not kept"));
    say(input, fmt::format("  {}: {}", pass.name, search.measured.back()));
    if (verdict.keep) {
        search.chosen = trial;
        search.best_runs = m.peak_rss_runs;
    }
}

} // namespace

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
    Search search{input.program, input.current_peak_runs, {}};
    if (search.best_runs.empty())
        search.best_runs = verifier.measure(input.program, input.runs, input.program.path.string()).peak_rss_runs;
    for (const Candidate& c : candidates(input.allow_env_flags))
        if (!has_candidate(search.chosen, c)) try_candidate(pass, input, verifier, c, search);
    own.reset();
    fs::remove_all(work);
    const std::string measured = fmt::format("{}", fmt::join(search.measured, "; "));
    if (search.chosen.python_flags == input.program.python_flags && search.chosen.env == input.program.env) {
        PassReport report;
        report.name = pass.name;
        report.program = input.program;
        report.reason = "no option lowered peak memory with the same output (" + measured + ")";
        return report;
    }
    const nlohmann::json launcher = {{"python_flags", search.chosen.python_flags}, {"env", search.chosen.env}};
    PassReport written = run_python_pass(pass.name, input, launcher.dump());
    written.program.python_flags = search.chosen.python_flags;
    written.program.env = search.chosen.env;
    written.changes.push_back("measured: " + measured);
    return written;
}

} // namespace memopt::transforms
