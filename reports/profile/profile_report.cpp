#include "reports/profile/profile_report.h"

#include "common/error.h"

namespace memopt::reports {

// Placeholder until the probe lands: renders the profile as JSON only.
std::string render_profile(const nlohmann::json& profile, std::string_view format) {
    if (format == "json") return profile.dump(2) + "\n";
    throw Error("probe profiles can only be reported as json so far");
}

} // namespace memopt::reports
