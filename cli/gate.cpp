// memopt gate: runs a command under the tracer and fails (exit 1) when its peak memory is
// over a limit. Thin shell over memopt::recorder::record and reports/gate.h.
#include "cli/commands.h"
#include "cli/options.h"
#include "cli/tracer_options.h"
#include "common/error.h"
#include "common/paths.h"
#include "common/sizes.h"
#include "profiler/record/launcher.h"
#include "reports/gate/gate.h"
#include "reports/gate/junit.h"
#include "reports/render/summary_format.h"

#include <cstdlib>
#include <fmt/format.h>
#include <fmt/std.h>
#include <optional>

namespace memopt::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kUsage =
    "memopt gate (--max-peak SIZE | --baseline SUMMARY.json [--tolerance PCT])\n"
    "            [--metric peak_rss|peak_heap] [--junit OUT.xml] [--save SUMMARY.json]\n"
    "            [--trace TRACE] [--stacks[=N]] [--] CMD ARGS...\n\n"
    "Runs CMD under the allocation tracer, prints its memory summary and a one-line verdict\n"
    "(on stderr; CMD's own output is untouched). Exit status: 0 within the limit, 1 over it,\n"
    "CMD's own status when CMD fails, 2 on a usage or input error. With GITHUB_ACTIONS set,\n"
    "a failure is also printed as an ::error annotation. Nothing in a baseline or trace is\n"
    "ever executed: only CMD runs.";

// A private temporary directory for the trace (and any child traces), removed on return.
class TemporaryTraceDir {
  public:
    TemporaryTraceDir() {
        const char* tmp = std::getenv("TMPDIR");
        std::string pattern = fmt::format("{}/memopt-gate-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!::mkdtemp(pattern.data()))
            throw Error(fmt::format("cannot create a temporary directory for the trace under {} "
                                    "(set TMPDIR or use --trace FILE)",
                                    fs::path(pattern).parent_path()));
        path_ = pattern;
    }
    ~TemporaryTraceDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TemporaryTraceDir(const TemporaryTraceDir&) = delete;
    TemporaryTraceDir& operator=(const TemporaryTraceDir&) = delete;
    const fs::path& path() const { return path_; }

  private:
    fs::path path_;
};

std::string command_line(const std::vector<std::string>& command) {
    std::string text;
    for (const auto& word : command) {
        if (!text.empty()) text += ' ';
        text += word;
    }
    return text;
}

bool in_github_actions() {
    const char* value = std::getenv("GITHUB_ACTIONS");
    return value && std::string_view(value) == "true";
}

} // namespace

int run_gate(const Args& args) {
    const SplitCommand split = split_command(
        args, {"--max-peak", "--baseline", "--tolerance", "--metric", "--junit", "--save", "--trace", "--interval"});
    po::options_description desc("options");
    desc.add_options()
        ("max-peak", po::value<std::string>(), "absolute limit, e.g. 24MB, 1.5GiB")
        ("baseline", po::value<std::string>(), "limit from a summary saved by --save (or report --format json)")
        ("tolerance", po::value<double>(), "percent above the baseline still accepted (default 10)")
        ("metric", po::value<std::string>()->default_value("peak_rss"), "peak_rss | peak_heap")
        ("junit", po::value<std::string>(), "write a JUnit XML report here")
        ("save", po::value<std::string>(), "write this run's summary here (a new baseline)")
        ("trace", po::value<std::string>(), "keep the trace here (default: a temporary file, removed)");
    add_tracer_options(desc);
    po::variables_map vm;
    if (!parse_options(split.options, "gate", kUsage, desc, {}, vm)) return 0;

    const bool has_max = vm.count("max-peak") > 0;
    const bool has_baseline = vm.count("baseline") > 0;
    if (has_max && has_baseline) throw Error("give either --max-peak or --baseline, not both");
    if (!has_max && !has_baseline && !vm.count("save"))
        throw Error("no limit given: use --max-peak SIZE or --baseline SUMMARY.json (or --save to record one)");
    if (vm.count("tolerance") && !has_baseline) throw Error("--tolerance needs --baseline");
    if (split.command.empty()) throw Error("no command given (usage: memopt gate --max-peak SIZE -- CMD ARGS...)");
    const auto metric = reports::parse_gate_metric(vm["metric"].as<std::string>());

    // Everything that can be checked before running the command is checked first.
    std::optional<reports::GateLimit> limit;
    if (has_max) {
        const std::string text = vm["max-peak"].as<std::string>();
        limit = reports::limit_from_size(parse_size(text), metric, text);
    }
    if (has_baseline) {
        const fs::path baseline_path = vm["baseline"].as<std::string>();
        const auto baseline = reports::read_summary_file(baseline_path);
        const double tolerance = vm.count("tolerance") ? vm["tolerance"].as<double>() : 10.0;
        limit = reports::limit_from_baseline(baseline, metric, tolerance, baseline_path.string());
    }
    const std::optional<std::string> junit = vm.count("junit") ? std::optional(vm["junit"].as<std::string>()) : std::nullopt;
    const std::optional<fs::path> save = vm.count("save") ? std::optional(fs::path(vm["save"].as<std::string>())) : std::nullopt;
    for (const auto& output : {junit ? fs::path(*junit) : fs::path(), save.value_or(fs::path())}) {
        if (output.empty()) continue;
        if (fs::is_directory(output)) throw Error(fmt::format("output {} is a directory", output));
        const fs::path dir = output.parent_path().empty() ? fs::path(".") : output.parent_path();
        if (!fs::is_directory(dir)) throw Error(fmt::format("output directory {} does not exist", dir));
    }

    recorder::RecordOptions options;
    options.command = split.command;
    apply_tracer_options(vm, options);
    std::optional<TemporaryTraceDir> temporary;
    if (vm.count("trace")) {
        options.output = vm["trace"].as<std::string>();
    } else {
        temporary.emplace();
        options.output = temporary->path() / "gate.trace";
    }

    const recorder::RecordResult result = recorder::record(options);
    if (!result.trace_warning.empty())
        fmt::print(stderr, "memopt gate: warning: {}; the trace lacks the exit status\n", result.trace_warning);
    const reports::Summary summary = reports::summarize_trace(options.output);
    fmt::print(stderr, "{}", reports::summary_to_text(summary));
    for (const auto& warning : summary.warnings) fmt::print(stderr, "memopt gate: warning: {}\n", warning);
    if (save) {
        reports::save_summary_file(summary, *save);
        fmt::print(stderr, "memopt gate: summary saved to {}\n", *save);
    }

    reports::JunitCase test;
    test.name = command_line(split.command);
    test.time_s = result.wall_seconds;
    test.system_out = reports::summary_to_text(summary);
    int status = 0;
    std::string message;
    if (result.exit_code != 0) {
        message = result.signaled
                      ? fmt::format("the command was killed by signal {}; no memory verdict", result.exit_code - 128)
                      : fmt::format("the command failed with status {}; no memory verdict", result.exit_code);
        test.error = message;
        status = result.exit_code;
        fmt::print(stderr, "memopt gate: {}\n", message);
    } else if (limit) {
        const auto verdict = reports::evaluate_gate(summary, *limit);
        fmt::print(stderr, "{}\n", verdict.line);
        message = verdict.line;
        if (!verdict.passed) {
            test.failure = verdict.line;
            status = 1;
        }
    }
    test.details = message;
    if (junit) {
        reports::write_text_file(*junit, reports::junit_xml(test));
        fmt::print(stderr, "memopt gate: JUnit report written to {}\n", *junit);
    }
    if (status != 0 && in_github_actions()) {
        std::fflush(stderr);
        fmt::print("{}\n", reports::github_error_annotation("memopt gate", message));
        std::fflush(stdout);
    }
    return status;
}

} // namespace memopt::cli
