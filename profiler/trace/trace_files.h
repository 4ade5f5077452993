#pragma once
// Naming of the files of one recording: TRACE for the launched process, TRACE.PID for each
// child that forked or was spawned from it, TRACE.PID.N when TRACE.PID was taken already
// (the pid was reused by a later child of the same run; N = 1, 2, ...).
#include <filesystem>
#include <vector>

namespace memopt::trace {

// The TRACE.PID and TRACE.PID.N files beside `trace`, sorted.
std::vector<std::filesystem::path> child_trace_files(const std::filesystem::path& trace);

} // namespace memopt::trace
