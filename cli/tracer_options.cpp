#include "cli/tracer_options.h"

#include "common/error.h"
#include "common/paths.h"
#include "common/sizes.h"
#include "profiler/trace/format.h"

#include <fmt/format.h>
#include <string>

namespace memopt::cli {

void add_tracer_options(po::options_description& desc) {
    static const std::string depth_help = fmt::format(
        "frames kept per stack, innermost first (default {}, at most {}); a longer stack gets a "
        "[truncated] root frame", trace::kDefaultStackDepth, trace::kMaxStackDepthLimit);
    desc.add_options()
        ("stacks", po::value<std::string>()->implicit_value("128KiB")->value_name("N"),
         "record native stacks for about one allocation every N bytes (--stacks=1: every "
         "allocation; default N 128KiB)")
        ("stack-depth", po::value<unsigned>()->value_name("N"), depth_help.c_str())
        ("interval", po::value<unsigned>()->default_value(10)->value_name("MS"), "RSS sampling period in milliseconds");
}

void apply_tracer_options(const po::variables_map& vm, recorder::RecordOptions& options) {
    options.interval_ms = vm["interval"].as<unsigned>();
    if (options.interval_ms == 0 || options.interval_ms > 60'000)
        throw Error("--interval must be between 1 and 60000 milliseconds");
    if (vm.count("stacks")) {
        options.stack_sample_bytes = parse_size(vm["stacks"].as<std::string>());
        if (options.stack_sample_bytes == 0) throw Error("--stacks needs a sampling size of at least 1 byte");
    }
    if (vm.count("stack-depth")) {
        options.stack_depth = vm["stack-depth"].as<unsigned>();
        if (options.stack_depth < 2 || options.stack_depth > trace::kMaxStackDepthLimit)
            throw Error(fmt::format("--stack-depth must be between 2 and {} frames", trace::kMaxStackDepthLimit));
    }
    options.preload_library = find_beside_self("libmemopt_preload.so",
                                               {"libmemopt_preload.so", "../lib/memopt/libmemopt_preload.so"});
    options.python_dir = python_package_dir();
}

} // namespace memopt::cli
