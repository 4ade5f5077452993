#pragma once
// The text a person reads of a Summary (`memopt report TRACE`); its JSON face is
// reports/analysis/summary_json.h, included here for the callers that want both.
#include "reports/analysis/summary.h"
#include "reports/analysis/summary_json.h"

#include <string>

namespace memopt::reports {

std::string summary_to_text(const Summary& summary);

} // namespace memopt::reports
