// The launcher passes (the pass table's kind "launcher"; the flags pass, step 5 of the
// paper): interpreter options and runtime settings, each measured.
// Every candidate is added to the set kept so far, run once for the differential check and
// `runs` times for peak RSS; it stays only when the output is unchanged and the median peak
// falls by more than the noise (0.5 % and 128 KiB). The pass's Python module
// (python/memopt/transforms/flags.py) then writes the program with the chosen launcher
// (shebang line, run.sh).
#include "common/error.h"
#include "common/sizes.h"
#include "transforms/passes.h"

#include <algorithm>
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

const std::vector<Candidate>& candidates() {
    static const std::vector<Candidate> list = {
        {"-OO (no docstrings, no asserts)", {"-OO"}, {}},
        {"-X no_debug_ranges", {"-X", "no_debug_ranges"}, {}},
        {"-X frozen_modules=on", {"-X", "frozen_modules=on"}, {}},
        {"-S (no site module)", {"-S"}, {}},
        {"-I (isolated mode)", {"-I"}, {}},
        {"thread pools of one thread", {}, {{"OPENBLAS_NUM_THREADS", "1"}, {"OMP_NUM_THREADS", "1"}, {"MKL_NUM_THREADS", "1"}}},
        {"MALLOC_ARENA_MAX=1", {}, {{"MALLOC_ARENA_MAX", "1"}}},
        {"MALLOC_TRIM_THRESHOLD_=131072 MALLOC_TOP_PAD_=0", {}, {{"MALLOC_TRIM_THRESHOLD_", "131072"}, {"MALLOC_TOP_PAD_", "0"}}},
        {"MALLOC_MMAP_THRESHOLD_=131072", {}, {{"MALLOC_MMAP_THRESHOLD_", "131072"}}},
        {"PYTHONMALLOC=malloc", {}, {{"PYTHONMALLOC", "malloc"}}},
    };
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
    std::uint64_t best = 0;
    std::vector<std::string> measured;
};

// Runs `c` on top of what is kept: once for the differential check, `runs` times for the
// peak; keeps it when the output is the same and the peak falls by more than the noise.
void try_candidate(const PassInfo& pass, const PassInput& input, const Snapshot& reference, const Candidate& c,
                   Search& search) {
    const fs::path work = input.work_dir / pass.name / "trial";
    const Program trial = with_candidate(search.chosen, c);
    const std::string diff = difference(reference, capture(trial, input.args, work));
    if (!diff.empty()) {
        search.measured.push_back(fmt::format("{}: rejected, {}", c.label, diff));
        say(input, fmt::format("  {}: {} rejected: {}", pass.name, c.label, diff));
        return;
    }
    const Measurement m = measure(run_spec(trial, input.args, work), input.runs, input.program.path.string());
    const double saved = static_cast<double>(search.best) - static_cast<double>(m.peak_rss_bytes);
    const bool keep = saved > std::max(131072.0, 0.005 * static_cast<double>(search.best));
    search.measured.push_back(fmt::format("{}: peak {} ({:+.1f} MB){}", c.label, format_mb(static_cast<double>(m.peak_rss_bytes)),
                                          -saved / 1e6, keep ? ", kept" : ", not kept"));
    say(input, fmt::format("  {}: {}", pass.name, search.measured.back()));
    if (keep) {
        search.chosen = trial;
        search.best = m.peak_rss_bytes;
    }
}

} // namespace

PassReport search_launcher(const PassInfo& pass, const PassInput& input) {
    const fs::path work = input.work_dir / pass.name;
    const Snapshot reference = capture(input.program, input.args, work / "reference");
    if (reference.status != 0)
        throw Error(fmt::format("{} exited with status {}", input.program.path.string(), reference.status));
    Search search{input.program, input.current_peak_rss, {}};
    if (search.best == 0)
        search.best = measure(run_spec(input.program, input.args, work / "reference"), input.runs, input.program.path.string())
                          .peak_rss_bytes;
    for (const Candidate& c : candidates())
        if (!has_candidate(search.chosen, c)) try_candidate(pass, input, reference, c, search);
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
