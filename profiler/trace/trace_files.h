#pragma once
// Naming of the files of one recording: TRACE for the launched process, TRACE.PID for each
// child that forked or was spawned from it.
#include <filesystem>
#include <vector>

namespace memopt::trace {

// The TRACE.PID files beside `trace`, sorted.
std::vector<std::filesystem::path> child_trace_files(const std::filesystem::path& trace);

} // namespace memopt::trace
