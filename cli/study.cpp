// memopt study: the paper's evaluation on this machine (examples/activity/study/, docs/study.md).
#include "cli/commands.h"
#include "cli/options.h"
#include "common/error.h"
#include "examples/activity/study/study.h"

#include <fmt/format.h>
#include <fmt/std.h>

namespace memopt::cli {

int run_study(const Args& args) {
    po::options_description desc("options");
    desc.add_options()
        ("output,o", po::value<std::string>()->default_value("study-out"), "directory for results.json, results.md, index.html")
        ("force,f", "replace a previous study in a non-empty output directory")
        ("data", po::value<std::string>(), "recording CSV to use (memopt's layout with a header, or a UCI file) instead of generating one")
        ("rows", po::value<std::size_t>()->default_value(197633), "rows of the generated recording (the paper: 197,633 = 1544 blocks)")
        ("repeat", po::value<int>()->default_value(3), "runs per step (median, min and max are reported)")
        ("train-rows", po::value<std::size_t>(), "training rows (default: train.py's 12.8 M); smaller for quick studies")
        ("trees", po::value<int>(), "trees in the forest (default 20, the paper's)")
        ("optimize-rows", po::value<std::size_t>()->default_value(20000),
         "memopt optimize chooses the steps on this many rows of the recording (0: all); the steps are measured on all rows")
        ("threshold-mb", po::value<double>(), "passed to memopt optimize: stop once the peak is below this")
        ("optimized", po::value<std::string>(), "reuse this `memopt optimize` output directory (with steps.json) instead of running optimize");
    po::variables_map vm;
    if (!parse_options(args, "study",
                       "memopt study [--data CSV] [--rows N] [--repeat K] [-o OUT_DIR] [--force]", desc, {}, vm))
        return 0;
    reports::study::StudyOptions options;
    options.out_dir = vm["output"].as<std::string>();
    options.force = vm.count("force") > 0;
    if (vm.count("data")) options.data_csv = vm["data"].as<std::string>();
    options.rows = vm["rows"].as<std::size_t>();
    if (options.rows < 128) throw Error("--rows must be at least 128 (one block)");
    options.repeat = vm["repeat"].as<int>();
    if (vm.count("train-rows")) options.train_rows = vm["train-rows"].as<std::size_t>();
    if (vm.count("trees")) options.trees = vm["trees"].as<int>();
    if (vm.count("threshold-mb")) options.threshold_mb = vm["threshold-mb"].as<double>();
    options.optimize_rows = vm["optimize-rows"].as<std::size_t>();
    if (vm.count("optimized")) options.optimized_dir = vm["optimized"].as<std::string>();
    const auto results = reports::study::run_study(options, [](const std::string& line) {
        fmt::print(stderr, "memopt study: {}\n", line);
    });
    const auto out = std::filesystem::absolute(options.out_dir).lexically_normal();
    fmt::print("study finished in {:.0f} s: {}\n  {}\n  {}\n", results.duration_s, (out / "index.html").string(),
               (out / "results.md").string(), (out / "results.json").string());
    if (!results.predictions_identical) {
        fmt::print(stderr, "memopt study: predictions differ between steps (see {})\n", out / "results.md");
        return 1;
    }
    return 0;
}

} // namespace memopt::cli
