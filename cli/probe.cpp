// memopt probe: options only; the work is in profiler/probe (memopt_probe).
#include "cli/commands.h"
#include "cli/options.h"
#include "common/error.h"
#include "common/sizes.h"
#include "profiler/probe/probe.h"

#include <fmt/format.h>
#include <fmt/std.h>

namespace memopt::cli {

namespace {

CommandHelp probe_help() {
    return {"probe", "[--] SCRIPT.py [ARG]...",
            "Run SCRIPT.py as __main__ in an embedded CPython configured like /usr/bin/python3 and\n"
            "write a profile (memopt.profile/1 JSON, see docs/probe.md): import tree with the RSS,\n"
            "allocated bytes and time of every module, which modules ran any function, top\n"
            "allocating lines and an object census at the peak, RSS timeline and phases\n"
            "(memopt.phase()). Python allocations are sampled (one per N bytes on average, estimates)\n"
            "unless --tracemalloc asks for exact, much slower tracing. The script's stdout and stderr\n"
            "pass through. Read the profile with `memopt report PROFILE`.",
            {"memopt probe -o train.profile.json train.py --epochs 3",
             "memopt probe --tracemalloc=32 --top=50 -- train.py"},
            "Exit status: the script's own; 2 on a usage error."};
}

} // namespace

int run_probe(const Args& args) {
    probe::ProbeOptions options;
    std::string output, sample_bytes = "256KiB";
    po::options_description desc("options");
    desc.add_options()
        ("output,o", po::value(&output)->value_name("FILE"), "profile to write (default: SCRIPT.profile.json here)")
        ("force,f", po::bool_switch(&options.force), "overwrite an existing profile")
        ("optimize", po::value(&options.optimize)->default_value(0)->value_name("0|1|2"), "Python optimisation level, as -O/-OO")
        ("xoption,X", po::value(&options.xoptions)->composing()->value_name("OPT"), "Python -X option (repeatable)")
        ("sample-bytes", po::value(&sample_bytes)->value_name("SIZE"),
         "sampled tracking: mean bytes between sampled allocations (default 256KiB; 1 = every allocation)")
        ("tracemalloc", po::value(&options.frames)->implicit_value(16)->value_name("FRAMES"),
         "exact tracking with tracemalloc, FRAMES frames per allocation (default 16): precise, 3-30x slower")
        ("interval", po::value(&options.interval_ms)->default_value(10)->value_name("MS"), "RSS sampling period in ms")
        ("top", po::value(&options.top)->default_value(25)->value_name("N"), "top lines and census types to keep")
        ("no-code-tracking", "do not record which functions ran (lower overhead)")
        ("no-alloc-tracking", "no allocation tracking: no allocated bytes nor top lines; census at the RSS peak");
    const auto split = split_command(args, desc);
    po::variables_map vm;
    if (!parse_options(split.options, probe_help(), desc, {}, vm)) return 0;
    if (split.command.empty()) throw Error("no script given (usage: memopt probe [options] [--] SCRIPT.py ARGS...)");
    options.track_code = vm.count("no-code-tracking") == 0;
    const int modes = static_cast<int>(vm.count("tracemalloc") + vm.count("no-alloc-tracking") +
                                       (vm.count("sample-bytes") && !vm["sample-bytes"].defaulted()));
    if (modes > 1) throw Error("--sample-bytes, --tracemalloc and --no-alloc-tracking exclude each other");
    if (vm.count("tracemalloc")) options.tracking = probe::AllocTracking::kTracemalloc;
    if (vm.count("no-alloc-tracking")) options.tracking = probe::AllocTracking::kNone;
    const std::uint64_t mean = parse_size(sample_bytes);
    if (mean < 1 || mean > (std::uint64_t{1} << 40)) throw Error("--sample-bytes must be between 1 and 1TiB");
    options.sample_bytes = static_cast<std::int64_t>(mean);
    if (options.optimize < 0 || options.optimize > 2) throw Error("--optimize must be 0, 1 or 2");
    if (options.frames < 1 || options.frames > 1000) throw Error("--tracemalloc=FRAMES must be between 1 and 1000");
    if (options.interval_ms < 1) throw Error("--interval must be at least 1 ms");
    options.script = split.command.front();
    options.args.assign(split.command.begin() + 1, split.command.end());
    options.output = output.empty() ? probe::default_output(options.script) : std::filesystem::path(output);

    const auto result = probe::run(options);
    fmt::print(stderr, "memopt probe: profile written to {} (exit status {})\n", result.profile.string(),
               result.exit_status);
    return result.exit_status;
}

} // namespace memopt::cli
