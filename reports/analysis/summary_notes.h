#pragma once
// What the summary says about data the tracer could not keep while tracing went on (its
// kTracerNote records, profiler/trace/format.h): a full stack table cuts later stacks short,
// a full Python code table leaves later Python frames unnamed; and events the reader handed
// out late, past its reordering window (TraceMetadata::late_events). Nothing is lost from
// the totals, so these are notes, not warnings. One sentence each, for Summary::notes.
#include "profiler/trace/reader.h"

#include <string>
#include <vector>

namespace memopt::reports {

// Call once the reader's next() has returned false.
std::vector<std::string> tracer_note_texts(const trace::TraceMetadata& meta);

} // namespace memopt::reports
