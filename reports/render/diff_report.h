#pragma once
// The two faces of `memopt report --diff BEFORE AFTER` (reports/analysis/trace_diff.h):
// totals on top, then the `top` sites that changed most; the HTML page adds the differential
// flame graph of the bytes live at the peak.
#include "reports/analysis/trace_diff.h"

#include <cstddef>
#include <string>

namespace memopt::reports {

std::string trace_diff_text(const TraceDiff& diff, std::size_t top);
std::string trace_diff_html(const TraceDiff& diff, std::size_t top);

} // namespace memopt::reports
