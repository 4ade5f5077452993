#pragma once
// Standard formats other tools read, from a trace's summary and its sampled stacks:
//   folded     Brendan Gregg's folded stacks ("outer;inner BYTES" per line), for
//              flamegraph.pl, inferno, speedscope;
//   speedscope speedscope's JSON file format (https://www.speedscope.app/file-format-schema.json);
//   massif     a massif.out.PID that valgrind's ms_print reads (heap over time, the peak's tree).
#include "reports/analysis/stacks.h"
#include "reports/analysis/summary.h"

#include <string>

namespace memopt::reports {

std::string to_folded(const std::vector<WeightedStack>& stacks);
std::string to_speedscope(const StackProfile& stacks, const std::string& name);
std::string to_massif(const Summary& summary, const StackProfile& stacks);

} // namespace memopt::reports
