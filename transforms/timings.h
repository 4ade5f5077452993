#pragma once
// Timings a program prints ("done in 0.27s", "Elapsed time: 0.30s") differ from run to run
// of the same program, so no rewrite could be proven to print the same bytes. When the
// reference runs of a program differ only in such numbers, the comparison masks them: the
// rest of the text must still be identical. What counts as a timing (nothing else is masked):
//   * a number followed by a time unit: s, sec, secs, second(s), ms, min, minutes ("0.27s",
//     "13.353 seconds");
//   * every number of a line that says it reports a time: it contains "time", "took",
//     "elapsed", "duration" or "done in" (any case); spaces in such a line are not compared
//     either (tables pad their columns to the widest number).
#include <string>
#include <string_view>

namespace memopt::transforms {

// `text` with each timing replaced by "#" (the rules above).
std::string mask_timings(std::string_view text);

} // namespace memopt::transforms
