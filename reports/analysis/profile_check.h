#pragma once
// A probe profile (memopt.profile/1, docs/probe.md) is checked here before any renderer
// looks at it: the required fields are present, every documented field has its type, the
// integer fields are integers in range, and every number in the document is finite and at
// most 2^53 in size (so no renderer's conversion to an integer can overflow: 1e308 once
// printed as -2147483648). Unknown fields are allowed (newer probes may add some).
#include <nlohmann/json.hpp>

namespace memopt::reports {

// Throws memopt::Error naming the first offending field ("peak.top_lines[2].line").
void check_profile(const nlohmann::json& profile);

} // namespace memopt::reports
