// Pass flags (step 5 of the paper): interpreter options and runtime settings, each measured.
// Every candidate is added to the set kept so far, run once for the differential check and
// `runs` times for peak RSS; it stays only when the output is unchanged and the median peak
// falls by more than the noise (0.5 % and 128 KiB). python/memopt/transforms/flags.py then
// writes the program with the chosen launcher (shebang line, run.sh).
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

} // namespace

PassReport flags(const PassInput& input) {
    PassReport report;
    report.name = "flags";
    report.program = input.program;
    const fs::path work = input.work_dir / "flags";
    const Snapshot reference = capture(input.program, input.args, work / "reference");
    if (reference.status != 0)
        throw Error(fmt::format("{} exited with status {}", input.program.path.string(), reference.status));
    std::uint64_t best = input.current_peak_rss;
    if (best == 0) best = measure(run_spec(input.program, input.args, work / "reference"), input.runs,
                                  input.program.path.string()).peak_rss_bytes;
    Program chosen = input.program;
    std::vector<std::string> measured;
    for (const Candidate& c : candidates()) {
        Program trial = chosen;
        bool already = true;
        for (const auto& f : c.flags) already &= std::find(trial.python_flags.begin(), trial.python_flags.end(), f) != trial.python_flags.end();
        for (const auto& [k, v] : c.env) already &= trial.env.count(k) && trial.env.at(k) == v;
        if (already) continue;
        trial.python_flags.insert(trial.python_flags.end(), c.flags.begin(), c.flags.end());
        for (const auto& [k, v] : c.env) trial.env[k] = v;
        const Snapshot snap = capture(trial, input.args, work / "trial");
        const std::string diff = difference(reference, snap);
        if (!diff.empty()) {
            measured.push_back(fmt::format("{}: rejected, {}", c.label, diff));
            say(input, fmt::format("  flags: {} rejected: {}", c.label, diff));
            continue;
        }
        const Measurement m = measure(run_spec(trial, input.args, work / "trial"), input.runs, input.program.path.string());
        const double saved = static_cast<double>(best) - static_cast<double>(m.peak_rss_bytes);
        const bool keep = saved > std::max(131072.0, 0.005 * static_cast<double>(best));
        measured.push_back(fmt::format("{}: peak {} ({:+.1f} MB){}", c.label, format_mb(static_cast<double>(m.peak_rss_bytes)),
                                       -saved / 1e6, keep ? ", kept" : ", not kept"));
        say(input, "  flags: " + measured.back());
        if (keep) {
            chosen = trial;
            best = m.peak_rss_bytes;
        }
    }
    fs::remove_all(work);
    if (chosen.python_flags == input.program.python_flags && chosen.env == input.program.env) {
        report.reason = "no option lowered peak memory with the same output (" + fmt::format("{}", fmt::join(measured, "; ")) + ")";
        return report;
    }
    nlohmann::json launcher = {{"python_flags", chosen.python_flags}, {"env", chosen.env}};
    PassReport written = run_python_pass("flags", input, launcher.dump());
    written.program.python_flags = chosen.python_flags;
    written.program.env = chosen.env;
    written.changes.push_back("measured: " + fmt::format("{}", fmt::join(measured, "; ")));
    return written;
}

} // namespace memopt::transforms
