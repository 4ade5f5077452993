// memopt probe: options only; the work is in profiler/probe (memopt_probe).
#include "cli/commands.h"
#include "cli/options.h"
#include "common/error.h"
#include "profiler/probe/probe.h"

#include <fmt/format.h>
#include <fmt/std.h>

namespace memopt::cli {

namespace {

constexpr const char* kUsage =
    "memopt probe [-o PROFILE] [--optimize 0|1|2] [-X OPT]... [--] SCRIPT.py ARGS...\n\n"
    "Runs SCRIPT.py as __main__ in an embedded CPython configured like /usr/bin/python3 and\n"
    "writes a profile (memopt.profile/1 JSON, see docs/probe.md): import tree with the RSS,\n"
    "tracemalloc bytes and time of every module, which modules ran any function, top\n"
    "allocating lines and an object census at the traced peak, RSS timeline and phases\n"
    "(memopt.phase()). The script's stdout and stderr pass through; memopt exits with the\n"
    "script's status. Read the profile with `memopt report PROFILE`.";

} // namespace

int run_probe(const Args& args) {
    const auto split = split_command(args, {"-o", "--output", "--optimize", "-X", "--frames", "--interval", "--top"});
    probe::ProbeOptions options;
    std::string output;
    po::options_description desc("options");
    desc.add_options()
        ("output,o", po::value(&output), "profile to write (default: SCRIPT.profile.json here)")
        ("force,f", po::bool_switch(&options.force), "overwrite an existing profile")
        ("optimize", po::value(&options.optimize)->default_value(0), "Python optimisation level, as -O/-OO")
        ("xoption,X", po::value(&options.xoptions)->composing(), "Python -X option (repeatable)")
        ("frames", po::value(&options.frames)->default_value(16), "tracemalloc frames per allocation")
        ("interval", po::value(&options.interval_ms)->default_value(10), "RSS sampling period in ms")
        ("top", po::value(&options.top)->default_value(25), "top lines and census types to keep")
        ("no-code-tracking", "do not record which functions ran (lower overhead)")
        ("no-tracemalloc", "no tracemalloc: no traced bytes nor top lines; census at the RSS peak (lowest overhead)");
    po::positional_options_description positional;
    po::variables_map vm;
    if (!parse_options(split.options, "probe", kUsage, desc, positional, vm)) return 0;
    if (split.command.empty()) throw Error("no script given (usage: memopt probe [options] [--] SCRIPT.py ARGS...)");
    options.track_code = vm.count("no-code-tracking") == 0;
    options.tracemalloc = vm.count("no-tracemalloc") == 0;
    if (options.optimize < 0 || options.optimize > 2) throw Error("--optimize must be 0, 1 or 2");
    if (options.frames < 1 || options.frames > 1000) throw Error("--frames must be between 1 and 1000");
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
