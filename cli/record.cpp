// memopt record: thin shell over memopt::recorder::record (profiler/record/launcher.h).
#include "cli/commands.h"
#include "cli/options.h"
#include "cli/tracer_options.h"
#include "common/error.h"
#include "common/paths.h"
#include "common/sizes.h"
#include "profiler/record/launcher.h"

#include <fmt/format.h>
#include <fmt/std.h>

namespace memopt::cli {

int run_record(const Args& args) {
    const SplitCommand split = split_command(args, {"-o", "--output", "--interval"});
    po::options_description desc("options");
    desc.add_options()
        ("output,o", po::value<std::string>(), "trace file to write (default: memopt-CMD-PID.trace); "
                                               "children write OUTPUT.PID")
        ("force,f", "replace an existing trace file")
        ("quiet,q", "do not print where the trace went");
    add_tracer_options(desc);
    po::variables_map vm;
    if (!parse_options(split.options, "record", "memopt record [-o TRACE] [--stacks[=N]] [--interval MS] [--] CMD ARGS...\n\n"
                       "Runs CMD with the allocation tracer preloaded and writes its heap, mmap and RSS\n"
                       "timeline to TRACE. Exit status: the command's own.",
                       desc, {}, vm))
        return 0;

    recorder::RecordOptions options;
    options.command = split.command;
    if (options.command.empty()) throw Error("no command given (usage: memopt record [options] -- CMD ARGS...)");
    options.output = vm.count("output") ? std::filesystem::path(vm["output"].as<std::string>())
                                        : recorder::default_trace_path(options.command);
    options.force = vm.count("force") > 0;
    apply_tracer_options(vm, options);

    const recorder::RecordResult result = recorder::record(options);
    if (!result.trace_warning.empty())
        fmt::print(stderr, "memopt record: warning: {}; the trace lacks the exit status\n", result.trace_warning);
    if (!vm.count("quiet")) {
        std::error_code ec;
        const auto size = std::filesystem::file_size(options.output, ec);
        fmt::print(stderr, "memopt record: {} {} ({}), peak RSS {}; see: memopt report {}\n",
                   result.signaled ? "command killed by signal" : "command exited",
                   result.signaled ? result.exit_code - 128 : result.exit_code, format_size(static_cast<double>(size)),
                   format_size(static_cast<double>(result.max_rss_kib) * 1024), options.output.string());
        for (const auto& child : result.child_traces)
            fmt::print(stderr, "memopt record: child process trace: {}\n", child.string());
    }
    return result.exit_code;
}

} // namespace memopt::cli
