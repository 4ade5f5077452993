#pragma once
// Rendering of a probe profile (JSON schema memopt.profile/1), called by `memopt report`
// when its input is a profile rather than a trace.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace memopt::reports {

// format: "text" or "json" (more formats may follow). Throws memopt::Error on an unknown
// format or a profile that does not follow the schema (reports/analysis/profile_check.h).
std::string render_profile(const nlohmann::json& profile, std::string_view format);

} // namespace memopt::reports
