// memopt optimize: thin shell over memopt::transforms::optimize (transforms/optimize.cpp).
#include "cli/commands.h"
#include "cli/options.h"
#include "common/error.h"
#include "common/sizes.h"
#include "transforms/optimize.h"

#include <fmt/format.h>

namespace fs = std::filesystem;

namespace memopt::cli {

namespace {

constexpr const char* kUsage =
    "memopt optimize SCRIPT.py [--threshold-mb N] [--check CMD] [-o OUT_DIR] [--runs N]\n"
    "                [--passes LIST] [--no-probe] [-- ARGS...]\n\n"
    "Applies the passes in the paper's order (static-to-dynamic, dead-data, flatten, flags),\n"
    "keeps each candidate only when its stdout and the files it writes equal the original's\n"
    "(or CMD passes) and its median peak RSS is lower, and repeats until nothing helps or the\n"
    "peak is at most N MB (10^6 bytes). Writes OUT_DIR/stepN-PASS/, OUT_DIR/final/,\n"
    "steps.json and steps.md. Exit status 1 when the threshold is not met.";

} // namespace

int run_optimize(const Args& args) {
    const SplitScript split = split_script(args, {"--threshold-mb", "--check", "-o", "--output", "--runs", "--passes", "--rounds"});
    const Args& opts = split.options;
    const Args& program_args = split.script_args;
    const std::string& script = split.script;
    transforms::OptimizeOptions o;
    double threshold_mb = 0;
    std::string output, passes;
    po::options_description desc("options");
    desc.add_options()
        ("threshold-mb", po::value(&threshold_mb), "stop once peak RSS is at most N MB")
        ("check", po::value(&o.check), "command that must pass for a candidate (sh -c, run in the candidate's run directory)")
        ("output,o", po::value(&output), "output directory (default: SCRIPT.optimized/, a fresh name)")
        ("runs", po::value(&o.runs)->default_value(3), "measured runs per step (median)")
        ("rounds", po::value(&o.max_rounds)->default_value(3), "at most this many rounds over the passes")
        ("passes", po::value(&passes), "comma-separated subset of the passes, in order")
        ("no-probe", "do not run `memopt probe` first")
        ("quiet,q", "no progress output");
    po::variables_map vm;
    if (!parse_options(opts, "optimize", kUsage, desc, {}, vm)) return 0;
    if (script.empty()) throw Error("no script given (usage: memopt optimize SCRIPT.py [options] [-- ARGS])");
    if (!fs::is_regular_file(script)) throw Error(fmt::format("{}: no such file", script));
    o.script = script;
    o.args = program_args;
    if (vm.count("threshold-mb")) {
        if (threshold_mb <= 0) throw Error("--threshold-mb must be positive");
        o.threshold_bytes = static_cast<std::uint64_t>(threshold_mb * 1e6);
    }
    if (!passes.empty()) {
        o.passes.clear();
        std::size_t start = 0;
        while (start <= passes.size()) {
            const auto comma = passes.find(',', start);
            o.passes.push_back(passes.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
            if (comma == std::string::npos) break;
            start = comma + 1;
        }
        for (const auto& p : o.passes)
            if (p != "static-to-dynamic" && p != "dead-data" && p != "flatten" && p != "flags")
                throw Error(fmt::format("--passes: unknown pass '{}'", p));
    }
    o.probe = vm.count("no-probe") == 0;
    o.quiet = vm.count("quiet") > 0;
    if (output.empty()) {
        const fs::path base = fs::path(script).parent_path() / (fs::path(script).stem().string() + ".optimized");
        fs::path candidate = base;
        for (int i = 2; fs::exists(candidate); ++i) candidate = base.string() + "-" + std::to_string(i);
        output = candidate.string();
    }
    o.out_dir = output;
    const transforms::OptimizeResult r = transforms::optimize(o);
    if (!r.threshold_met) {
        fmt::print(stderr, "memopt optimize: threshold {} not met: final peak RSS {}\n",
                   format_mb(static_cast<double>(*o.threshold_bytes)), format_mb(static_cast<double>(r.final_peak)));
        return 1;
    }
    return 0;
}

} // namespace memopt::cli
