#pragma once
// The tracer options `memopt record` and `memopt gate` share (--stacks[=N], --interval),
// and where the tracer's files are found, so the two subcommands cannot drift apart.
#include "cli/options.h"
#include "profiler/record/launcher.h"

namespace memopt::cli {

void add_tracer_options(po::options_description& desc);

// Sets the stack sampling, RSS interval, preload library and Python package of `options`.
// Throws memopt::Error on an out-of-range value.
void apply_tracer_options(const po::variables_map& vm, recorder::RecordOptions& options);

} // namespace memopt::cli
