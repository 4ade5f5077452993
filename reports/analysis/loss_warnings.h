#pragma once
// What the summary says about data the trace does not hold: every loss the reader can see
// (tracer errors, skipped damaged chunks, a cut-off tail, sequence numbers that never
// arrived, a process that ended without its exit record), each with how many events may be
// missing. One sentence each, for Summary::warnings.
#include "profiler/trace/reader.h"

#include <string>
#include <vector>

namespace memopt::reports {

// Call once the reader's next() has returned false.
std::vector<std::string> data_loss_warnings(const trace::TraceReader& reader);

} // namespace memopt::reports
