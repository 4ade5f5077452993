#pragma once
// The text a person reads of a Summary (`memopt report TRACE`); its JSON face is
// reports/analysis/summary_json.h, included here for the callers that want both.
#include "reports/analysis/summary.h"
#include "reports/analysis/summary_json.h"

#include <string>

namespace memopt::reports {

struct TextOptions {
    bool add_children = false; // `report --children`: a line adding up every process's peaks
};

// Sizes follow common/sizes.h (MB = 10^6 bytes; the headline peaks show MiB beside them).
std::string summary_to_text(const Summary& summary, const TextOptions& options = {});

} // namespace memopt::reports
