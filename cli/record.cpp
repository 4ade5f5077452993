// memopt record: thin shell over memopt::recorder::record (profiler/preload/launcher.h).
#include "cli/commands.h"
#include "cli/options.h"
#include "common/error.h"
#include "common/paths.h"
#include "common/sizes.h"
#include "profiler/preload/launcher.h"

#include <fmt/format.h>
#include <fmt/std.h>

namespace memopt::cli {

namespace {
constexpr const char* kDefaultStackSampling = "128KiB";
}

int run_record(const Args& args) {
    const SplitCommand split = split_command(args, {"-o", "--output", "--interval"});
    po::options_description desc("options");
    desc.add_options()
        ("output,o", po::value<std::string>(), "trace file to write (default: memopt-CMD-PID.trace); "
                                               "children write OUTPUT.PID")
        ("stacks", po::value<std::string>()->implicit_value(kDefaultStackSampling),
         "record native stacks for about one allocation every N bytes (--stacks=1: every "
         "allocation; default N 128KiB)")
        ("interval", po::value<unsigned>()->default_value(10), "RSS sampling period in milliseconds")
        ("force,f", "replace an existing trace file")
        ("quiet,q", "do not print where the trace went");
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
    options.interval_ms = vm["interval"].as<unsigned>();
    if (options.interval_ms == 0 || options.interval_ms > 60'000)
        throw Error("--interval must be between 1 and 60000 milliseconds");
    if (vm.count("stacks")) {
        options.stack_sample_bytes = parse_size(vm["stacks"].as<std::string>());
        if (options.stack_sample_bytes == 0) throw Error("--stacks needs a sampling size of at least 1 byte");
    }
    options.preload_library = find_beside_self("libmemopt_preload.so",
                                               {"libmemopt_preload.so", "../lib/memopt/libmemopt_preload.so"});
    options.python_dir = python_package_dir();

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
