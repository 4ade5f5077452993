// memopt optimize: thin shell over memopt::transforms::optimize (transforms/optimize.cpp).
#include "cli/commands.h"
#include "cli/options.h"
#include "common/error.h"
#include "common/sizes.h"
#include "transforms/optimize.h"
#include "transforms/pass_table.h"

#include <fmt/format.h>
#include <thread>

namespace fs = std::filesystem;

namespace memopt::cli {

namespace {

// The pass list comes from the pass table (transforms/pass_table.h), never typed here.
CommandHelp optimize_help() {
    return {"optimize", "SCRIPT.py [-- ARG...]",
            "Apply the passes in the paper's order (" + transforms::pass_name_list() + "),\n"
            "keep each candidate only when it behaves identically (exit status, stdout, every file\n"
            "it writes or deletes, its figures; or CMD passes instead) and its median peak RSS falls\n"
            "by more than the runs' spread and 0.5 % / 128 KiB, and repeat until nothing helps or the\n"
            "peak is at most N MB (10^6 bytes). Every run works on a private copy of the current\n"
            "directory and of the files named in ARGs; your files are never written. A program whose\n"
            "output varies between runs, or that writes outside that copy, is refused unless --check.\n"
            "Writes DIR/stepN-PASS/, DIR/final/, steps.json and steps.md; DIR appears only when the\n"
            "run succeeds. lazy-imports keeps what it learns of library modules in $MEMOPT_CACHE_DIR\n"
            "(default ~/.cache/memopt; MEMOPT_CACHE_DIR=off keeps nothing).\n\n"
            "Passes, in the order tried:\n" + transforms::describe_passes(),
            {"memopt optimize train.py -o train.optimized -- --epochs 1",
             "memopt optimize train.py --jobs 1    # one run at a time: exact wall times",
             "memopt optimize train.py --threshold-mb 100 --check ./same_predictions.sh"},
            "Exit status: 0 done, 1 when the --threshold-mb is not met, 2 on a usage or input error."};
}

// "a,b" -> {"a", "b"}, each a pass of the table.
std::vector<std::string> parse_pass_list(const std::string& list) {
    std::vector<std::string> passes;
    std::size_t start = 0;
    while (start <= list.size()) {
        const auto comma = list.find(',', start);
        passes.push_back(list.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    for (const auto& p : passes) {
        try {
            transforms::find_pass(p);
        } catch (const Error& e) {
            throw Error(fmt::format("--passes: {}", e.what()));
        }
    }
    return passes;
}

// SCRIPT.optimized/ beside the script, or SCRIPT.optimized-2/, ... when that exists.
std::string fresh_output(const std::string& script) {
    const fs::path base = fs::path(script).parent_path() / (fs::path(script).stem().string() + ".optimized");
    fs::path candidate = base;
    for (int i = 2; fs::exists(fs::symlink_status(candidate)); ++i) candidate = base.string() + "-" + std::to_string(i);
    return candidate.string();
}

// Two runs at a time where there are two cores to run them on.
int default_jobs() { return std::thread::hardware_concurrency() >= 2 ? 2 : 1; }

} // namespace

int run_optimize(const Args& args) {
    transforms::OptimizeOptions o;
    double threshold_mb = 0, sandbox_mb = 512.0 * 1024 * 1024 / 1e6;
    std::string output, passes;
    po::options_description desc("options");
    desc.add_options()
        ("threshold-mb", po::value(&threshold_mb)->value_name("N"), "stop once peak RSS is at most N MB")
        ("check", po::value(&o.check)->value_name("CMD"), "command that decides instead of the output comparison (sh -c, in the run's directory; "
                                       "MEMOPT_STDOUT, MEMOPT_REFERENCE_DIR, MEMOPT_REFERENCE_STDOUT set)")
        ("compare-stderr", "compare stderr too")
        ("reference-runs", po::value(&o.reference_runs)->default_value(3)->value_name("N"), "observed runs of the baseline (different PYTHONHASHSEED)")
        ("sandbox-max-mb", po::value(&sandbox_mb)->value_name("N"), "copy at most N MB of the current directory into the sandbox (default 536.9)")
        ("allow-env-flags", "let the flags pass try -s, -E, -S, -I (they change how the program sees its environment)")
        ("output,o", po::value(&output)->value_name("DIR"), "output directory (default: SCRIPT.optimized/, a fresh name)")
        ("runs", po::value(&o.runs)->default_value(3)->value_name("N"), "measured runs per step (median)")
        ("jobs,j", po::value(&o.jobs)->default_value(default_jobs())->value_name("N"),
         "program runs at a time, 1 or 2 (2: a second copy of the sandbox; peaks are per process, wall times less exact)")
        ("rounds", po::value(&o.max_rounds)->default_value(3)->value_name("N"), "at most this many rounds over the passes")
        ("passes", po::value(&passes)->value_name("LIST"), "comma-separated subset of the passes, in order")
        ("max-candidate-runs", po::value(&o.max_candidate_runs)->default_value(24)->value_name("N"),
         "at most N check runs per pass searching the subset of its candidates that passes")
        ("no-probe", "do not run `memopt probe` first")
        ("quiet,q", "no progress output");
    const SplitScript split = split_script(args, desc);
    po::variables_map vm;
    if (!parse_options(split.options, optimize_help(), desc, {}, vm)) return 0;
    if (split.script.empty()) throw Error("no script given (usage: memopt optimize SCRIPT.py [options] [-- ARGS])");
    if (!fs::is_regular_file(split.script)) throw Error(fmt::format("{}: no such file", split.script));
    o.script = split.script;
    o.args = split.script_args;
    if (vm.count("threshold-mb")) {
        if (threshold_mb <= 0) throw Error("--threshold-mb must be positive");
        o.threshold_bytes = static_cast<std::uint64_t>(threshold_mb * 1e6);
    }
    if (!passes.empty()) o.passes = parse_pass_list(passes);
    o.probe = vm.count("no-probe") == 0;
    o.compare_stderr = vm.count("compare-stderr") > 0;
    o.allow_env_flags = vm.count("allow-env-flags") > 0;
    if (o.reference_runs < 2) throw Error("--reference-runs must be at least 2");
    if (o.max_candidate_runs < 0) throw Error("--max-candidate-runs must be at least 0");
    if (o.jobs < 1 || o.jobs > 2) throw Error("--jobs must be 1 or 2");
    if (sandbox_mb <= 0) throw Error("--sandbox-max-mb must be positive");
    o.sandbox_max_bytes = static_cast<std::uintmax_t>(sandbox_mb * 1e6);
    o.quiet = vm.count("quiet") > 0;
    o.out_dir = output.empty() ? fresh_output(split.script) : output;
    const transforms::OptimizeResult r = transforms::optimize(o);
    if (!r.threshold_met) {
        fmt::print(stderr, "memopt optimize: threshold {} not met: final peak RSS {}\n",
                   format_mb(static_cast<double>(*o.threshold_bytes)), format_mb(static_cast<double>(r.final_peak)));
        return 1;
    }
    return 0;
}

} // namespace memopt::cli
