#pragma once
// The two memory timelines of the per-step report (`memopt report OUT/steps.json`): after the
// loop, optimize runs the baseline and the first accepted step once more under
// `memopt record`, into OUT/traces/baseline.trace and OUT/traces/step-N.trace, and names them
// in steps.json (each step's "trace", relative to OUT). They run in optimize's sandbox (both
// at once when there are two copies, verify.h), reset first, like every other run (the user's files are never touched). These runs are not
// measured: the tracer adds its own cost. A run that cannot be recorded does not fail
// optimize: steps.json's "traces_note" says why.
#include "transforms/differential.h"
#include "transforms/sandbox.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace memopt::transforms {

struct TracedStep {
    int number; // the step's number in steps.json (0: the baseline)
    Program program;
};

// `doc` is steps.json as optimize is about to write it (its "steps" filled in); `out` the
// output directory. Adds "trace" to each of `traced` and "traces_note" when a recording failed.
void record_step_traces(nlohmann::json& doc, const std::filesystem::path& out, const std::vector<TracedStep>& traced,
                        const std::vector<Sandbox*>& sandboxes, void (*progress)(const std::string&));

} // namespace memopt::transforms
