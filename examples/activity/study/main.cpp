// activity_study: the paper's evaluation on this machine (scripts/study.sh runs it;
// docs/study.md). Exit status: 0, 1 when predictions differ between steps, 2 for bad
// options or a failing stage (one line on stderr).
#include "common/error.h"
#include "examples/activity/study/study.h"

#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <fmt/std.h>
#include <iostream>

namespace po = boost::program_options;
namespace study = memopt::reports::study;

namespace {

constexpr const char* kUsage = "activity_study [--data CSV] [--rows N] [--repeat K] [-o OUT_DIR] [--force]\n"
                               "               [--train-rows N] [--trees N] [--optimize-rows N] [--threshold-mb N] [--optimized DIR]";

po::options_description describe() {
    po::options_description desc("options");
    desc.add_options()
        ("help,h", "this help")
        ("output,o", po::value<std::string>()->default_value("study-out"), "directory for results.json, results.md, index.html")
        ("force,f", "replace a previous study in a non-empty output directory")
        ("data", po::value<std::string>(), "recording CSV to use (memopt's layout with a header, or a UCI file) instead of generating one")
        ("rows", po::value<std::size_t>()->default_value(study::kPaperRows), "rows of the generated recording (the paper: 197,633 = 1544 blocks)")
        ("repeat", po::value<int>()->default_value(3), "runs per step (median, min and max are reported)")
        ("train-rows", po::value<std::size_t>(), "training rows (default: train.py's 12.8 M); smaller for quick studies")
        ("trees", po::value<int>(), "trees in the forest (default 20, the paper's)")
        ("optimize-rows", po::value<std::size_t>()->default_value(20000),
         "memopt optimize chooses the steps on this many rows of the recording (0: all); the steps are measured on all rows")
        ("threshold-mb", po::value<double>(), "passed to memopt optimize: stop once the peak is below this")
        ("optimized", po::value<std::string>(), "reuse this `memopt optimize` output directory (with steps.json) instead of running optimize");
    return desc;
}

study::StudyOptions to_options(const po::variables_map& vm) {
    study::StudyOptions options;
    options.out_dir = vm["output"].as<std::string>();
    options.force = vm.count("force") > 0;
    if (vm.count("data")) options.data_csv = vm["data"].as<std::string>();
    options.rows = vm["rows"].as<std::size_t>();
    if (options.rows < 128) throw memopt::Error("--rows must be at least 128 (one block)");
    options.repeat = vm["repeat"].as<int>();
    if (vm.count("train-rows")) options.train_rows = vm["train-rows"].as<std::size_t>();
    if (vm.count("trees")) options.trees = vm["trees"].as<int>();
    if (vm.count("threshold-mb")) options.threshold_mb = vm["threshold-mb"].as<double>();
    options.optimize_rows = vm["optimize-rows"].as<std::size_t>();
    if (vm.count("optimized")) options.optimized_dir = vm["optimized"].as<std::string>();
    return options;
}

int run(int argc, char** argv) {
    const auto desc = describe();
    po::variables_map vm;
    po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
    po::notify(vm);
    if (vm.count("help")) {
        std::cout << "usage: " << kUsage << "\n\n" << desc << "\n";
        return 0;
    }
    const auto options = to_options(vm);
    const auto results = study::run_study(options, [](const std::string& line) { fmt::print(stderr, "activity_study: {}\n", line); });
    const auto out = std::filesystem::absolute(options.out_dir).lexically_normal();
    fmt::print("study finished in {:.0f} s: {}\n  {}\n  {}\n", results.duration_s, (out / "index.html").string(),
               (out / "results.md").string(), (out / "results.json").string());
    if (results.predictions_identical) return 0;
    fmt::print(stderr, "activity_study: predictions differ between steps (see {})\n", (out / "results.md").string());
    return 1;
}

} // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const memopt::Error& e) {
        fmt::print(stderr, "activity_study: {}\n", e.what());
    } catch (const po::error& e) {
        fmt::print(stderr, "activity_study: {} (see --help)\n", e.what());
    } catch (const std::exception& e) {
        fmt::print(stderr, "activity_study: {}\n", e.what());
    }
    return 2;
}
