#pragma once
// The two faces of a Summary: JSON (schema memopt.summary/1, what `gate` and `study` read)
// and the text a person reads.
#include "reports/analysis/summary.h"

#include <nlohmann/json.hpp>
#include <string>

namespace memopt::reports {

inline constexpr const char* kSummarySchema = "memopt.summary/1";

nlohmann::json summary_to_json(const Summary& summary);
// Reads a summary written by summary_to_json. Throws memopt::Error naming the missing or
// mistyped field.
Summary summary_from_json(const nlohmann::json& json);
std::string summary_to_text(const Summary& summary);

} // namespace memopt::reports
