// memopt record: thin shell over memopt::recorder::record (profiler/record/launcher.h);
// --live wires reports/analysis/live_status.h to it.
#include "cli/commands.h"
#include "cli/options.h"
#include "cli/tracer_options.h"
#include "common/error.h"
#include "common/paths.h"
#include "common/sizes.h"
#include "profiler/record/launcher.h"
#include "reports/analysis/live_status.h"

#include <cstdio>
#include <fmt/format.h>
#include <fmt/std.h>
#include <optional>

namespace memopt::cli {
namespace {

CommandHelp record_help() {
    return {"record", "[--] CMD [ARG]...",
            "Run CMD with the allocation tracer preloaded and write its heap, mmap and RSS\n"
            "timeline to a trace file; child processes write FILE.PID beside it. Read the trace\n"
            "with `memopt report FILE`.",
            {"memopt record -o train.trace -- python3 train.py --epochs 3",
             "memopt record --stacks --live python3 train.py"},
            "Exit status: the command's own (128+N when killed by signal N); 2 on a usage error."};
}

// The closing lines: how the command ended, the kernel's peak RSS of it (ru_maxrss; the
// report's "peak RSS" is the highest of that, VmHWM and the samples, so it may be a little
// higher), and which file is the trace and how big it is (never mistaken for a memory figure).
void print_closing(const recorder::RecordOptions& options, const recorder::RecordResult& result) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(options.output, ec);
    const std::string ended = result.signaled ? fmt::format("command killed by signal {}", result.exit_code - 128)
                                              : fmt::format("command exited with status {}", result.exit_code);
    fmt::print(stderr, "memopt record: {}, ru_maxrss {}; trace {} ({} on disk); see: memopt report {}\n", ended,
               format_size(static_cast<double>(result.max_rss_kib) * 1024), options.output.string(),
               format_size(static_cast<double>(ec ? 0 : size)), options.output.string());
    for (const auto& child : result.child_traces)
        fmt::print(stderr, "memopt record: child process trace: {}\n", child.string());
}

} // namespace

int run_record(const Args& args) {
    po::options_description desc("options");
    desc.add_options()
        ("output,o", po::value<std::string>()->value_name("FILE"),
         "trace file to write (default: memopt-CMD-PID.trace); children write FILE.PID")
        ("force,f", "replace an existing trace file")
        ("quiet,q", "do not print where the trace went")
        ("live", "print heap, RSS and the current phase to stderr once a second while CMD runs");
    add_tracer_options(desc);
    const SplitCommand split = split_command(args, desc);
    po::variables_map vm;
    if (!parse_options(split.options, record_help(), desc, {}, vm)) return 0;

    recorder::RecordOptions options;
    options.command = split.command;
    if (options.command.empty()) throw Error("no command given (usage: memopt record [options] -- CMD ARGS...)");
    options.output = vm.count("output") ? std::filesystem::path(vm["output"].as<std::string>())
                                        : recorder::default_trace_path(options.command);
    options.force = vm.count("force") > 0;
    apply_tracer_options(vm, options);

    std::optional<reports::LiveStatus> live;
    if (vm.count("live"))
        options.on_start = [&](int pid) {
            live.emplace(options.output, pid, [](const std::string& line) {
                fmt::print(stderr, "memopt record: {}\n", line);
                std::fflush(stderr);
            });
        };
    const recorder::RecordResult result = recorder::record(options);
    live.reset();
    if (!result.trace_warning.empty())
        fmt::print(stderr, "memopt record: warning: {}; the trace lacks the exit status\n", result.trace_warning);
    if (!vm.count("quiet")) print_closing(options, result);
    return result.exit_code;
}

} // namespace memopt::cli
