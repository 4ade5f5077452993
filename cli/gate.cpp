// memopt gate: runs a command under the tracer and fails (exit 1) when its peak memory is
// over a limit. Thin shell over memopt::recorder::record and reports/gate.h.
#include "cli/commands.h"
#include "cli/options.h"
#include "cli/tracer_options.h"
#include "common/error.h"
#include "common/output_file.h"
#include "common/sizes.h"
#include "profiler/record/launcher.h"
#include "reports/gate/baseline.h"
#include "reports/gate/gate.h"
#include "reports/gate/junit.h"
#include "reports/render/summary_format.h"

#include <algorithm>
#include <cstdlib>
#include <fmt/format.h>
#include <fmt/std.h>
#include <optional>

namespace memopt::cli {
namespace {

namespace fs = std::filesystem;

CommandHelp gate_help() {
    return {"gate", "[--] CMD [ARG]...",
            "Run CMD under the allocation tracer, print its memory summary and a one-line verdict\n"
            "(on stderr; CMD's own output is untouched). Give a limit with --max-peak SIZE or\n"
            "--baseline SUMMARY.json [--tolerance PCT]. With GITHUB_ACTIONS set, a failure is also\n"
            "printed as an ::error annotation. Every output (--junit, --save, --trace) is checked\n"
            "before CMD runs; an existing one is replaced only with --force. Nothing in a baseline\n"
            "or trace is ever executed: only CMD runs. Sizes: MB = 10^6 bytes, MiB = 2^20 bytes.",
            {"memopt gate --max-peak 200MB --junit memory.xml -- python3 train.py",
             "memopt gate --baseline base.json --tolerance 5 -- python3 train.py"},
            "Exit status: 0 within the limit, 1 over it, CMD's own status when CMD fails,\n"
            "2 on a usage or input error."};
}

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


// What the command line asks for, checked: everything that can fail before the command
// runs fails here.
struct GateRequest {
    Args command;
    std::optional<reports::GateLimit> limit;
    reports::GateSettings settings; // what --save records with the summary
    std::vector<std::string> notes; // how the baseline's settings were applied
    std::optional<fs::path> junit, save, trace;
    bool force = false;
    recorder::RecordOptions record;
};

// The outcome of one gated run, before anything is written.
struct GateOutcome {
    int status = 0;
    std::string message; // the verdict line or why there is none
    reports::JunitCase test;
};

std::optional<fs::path> path_option(const po::variables_map& vm, const char* name) {
    return vm.count(name) ? std::optional(fs::path(vm[name].as<std::string>())) : std::nullopt;
}

// Sets request.limit (none with --save alone) and request.settings; a baseline's own metric
// and tolerance apply unless the command line gives them (reports/gate/baseline.h).
void parse_limit(const po::variables_map& vm, GateRequest& request) {
    const bool has_max = vm.count("max-peak") > 0;
    const bool has_baseline = vm.count("baseline") > 0;
    if (has_max && has_baseline) throw Error("give either --max-peak or --baseline, not both");
    if (!has_max && !has_baseline && !vm.count("save"))
        throw Error("no limit given: use --max-peak SIZE or --baseline SUMMARY.json (or --save to record one)");
    if (vm.count("tolerance") && !has_baseline && !vm.count("save")) throw Error("--tolerance needs --baseline or --save");
    reports::GateChoices choices;
    if (vm.count("metric")) choices.metric = reports::parse_gate_metric(vm["metric"].as<std::string>());
    if (vm.count("tolerance")) choices.tolerance_percent = vm["tolerance"].as<double>();
    request.settings.metric = choices.metric.value_or(reports::GateMetric::kPeakRss);
    request.settings.tolerance_percent = choices.tolerance_percent.value_or(reports::kDefaultTolerancePercent);
    request.settings.command = request.command;
    if (has_max) {
        const std::string text = vm["max-peak"].as<std::string>();
        request.limit = reports::limit_from_size(parse_size(text), request.settings.metric, text);
    } else if (has_baseline) {
        const fs::path baseline_path = vm["baseline"].as<std::string>();
        auto resolved = reports::limit_from_gate_baseline(reports::read_gate_baseline(baseline_path), choices,
                                                          request.command, baseline_path.string());
        request.notes = resolved.notes;
        request.limit = resolved.limit;
        request.settings = resolved.settings;
    }
}

// Returns nullopt after --help.
std::optional<GateRequest> parse_request(const Args& args) {
    po::options_description desc("options");
    desc.add_options()
        ("max-peak", po::value<std::string>()->value_name("SIZE"), "absolute limit, e.g. 24MB, 1.5GiB")
        ("baseline", po::value<std::string>()->value_name("FILE"), "limit from a summary saved by --save (or report --format json)")
        ("tolerance", po::value<double>()->value_name("PCT"), "percent above the baseline still accepted (default: the baseline's, else 10)")
        ("metric", po::value<std::string>()->value_name("METRIC"), "peak_rss | peak_heap (default: the baseline's, else peak_rss)")
        ("junit", po::value<std::string>()->value_name("FILE"), "write a JUnit XML report here")
        ("save", po::value<std::string>()->value_name("FILE"), "write this run's summary here (a new baseline)")
        ("trace", po::value<std::string>()->value_name("FILE"), "keep the trace here (default: a temporary file, removed)")
        ("force,f", "replace existing --junit, --save and --trace files");
    add_tracer_options(desc);
    const SplitCommand split = split_command(args, desc);
    po::variables_map vm;
    if (!parse_options(split.options, gate_help(), desc, {}, vm)) return std::nullopt;

    GateRequest request;
    request.command = split.command;
    parse_limit(vm, request);
    if (split.command.empty()) throw Error("no command given (usage: memopt gate --max-peak SIZE -- CMD ARGS...)");
    request.junit = path_option(vm, "junit");
    request.save = path_option(vm, "save");
    request.trace = path_option(vm, "trace");
    request.force = vm.count("force") > 0;
    // The command runs once: a bad output is refused now, not after it ran.
    std::vector<fs::path> seen;
    for (const auto& output : {request.junit, request.save, request.trace}) {
        if (!output) continue;
        check_output_file(*output, request.force);
        const fs::path normal = fs::absolute(*output).lexically_normal();
        if (std::find(seen.begin(), seen.end(), normal) != seen.end())
            throw Error(fmt::format("{} is given for two outputs (--junit, --save, --trace)", *output));
        seen.push_back(normal);
    }
    request.record.command = request.command;
    request.record.force = request.force;
    apply_tracer_options(vm, request.record);
    return request;
}

reports::Summary run_traced(GateRequest& request, recorder::RecordResult& result) {
    std::optional<TemporaryTraceDir> temporary;
    if (request.trace) {
        request.record.output = *request.trace;
    } else {
        temporary.emplace();
        request.record.output = temporary->path() / "gate.trace";
    }
    result = recorder::record(request.record);
    if (!result.trace_warning.empty())
        fmt::print(stderr, "memopt gate: warning: {}; the trace lacks the exit status\n", result.trace_warning);
    reports::Summary summary = reports::summarize_trace(request.record.output);
    fmt::print(stderr, "{}", reports::summary_to_text(summary));
    for (const auto& warning : summary.warnings) fmt::print(stderr, "memopt gate: warning: {}\n", warning);
    return summary;
}

GateOutcome judge(const GateRequest& request, const recorder::RecordResult& result, const reports::Summary& summary) {
    GateOutcome outcome;
    outcome.test.name = command_line(request.command);
    outcome.test.time_s = result.wall_seconds;
    outcome.test.system_out = reports::summary_to_text(summary);
    if (result.exit_code != 0) {
        outcome.message = result.signaled
                              ? fmt::format("the command was killed by signal {}; no memory verdict", result.exit_code - 128)
                              : fmt::format("the command failed with status {}; no memory verdict", result.exit_code);
        outcome.test.error = outcome.message;
        outcome.status = result.exit_code;
        fmt::print(stderr, "memopt gate: {}\n", outcome.message);
    } else if (request.limit) {
        const auto verdict = reports::evaluate_gate(summary, *request.limit);
        fmt::print(stderr, "{}\n", verdict.line);
        outcome.message = verdict.line;
        if (!verdict.passed) {
            outcome.test.failure = verdict.line;
            outcome.status = 1;
        }
    }
    outcome.test.details = outcome.message;
    return outcome;
}

void write_outputs(const GateRequest& request, const reports::Summary& summary, const GateOutcome& outcome) {
    if (request.save) {
        reports::save_gate_baseline(summary, request.settings, *request.save, request.force);
        fmt::print(stderr, "memopt gate: summary saved to {}\n", *request.save);
    }
    if (request.junit) {
        write_output_file(*request.junit, reports::junit_xml(outcome.test), request.force);
        fmt::print(stderr, "memopt gate: JUnit report written to {}\n", *request.junit);
    }
    if (outcome.status != 0 && in_github_actions()) {
        std::fflush(stderr);
        fmt::print("{}\n", reports::github_error_annotation("memopt gate", outcome.message));
        std::fflush(stdout);
    }
}

} // namespace

int run_gate(const Args& args) {
    std::optional<GateRequest> request = parse_request(args);
    if (!request) return 0;
    for (const auto& note : request->notes) fmt::print(stderr, "memopt gate: note: {}\n", note);
    recorder::RecordResult result;
    const reports::Summary summary = run_traced(*request, result);
    const GateOutcome outcome = judge(*request, result, summary);
    write_outputs(*request, summary, outcome);
    return outcome.status;
}

} // namespace memopt::cli
