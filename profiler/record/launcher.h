#pragma once
// `memopt record`: creates the trace file, starts the command with libmemopt_preload.so
// preloaded through the one runner (common/runner.h), relays signals by the rules of
// signal_relay.h, and appends its exit status, wall time and peak RSS (the program's own,
// ru_maxrss; docs/peak-rss.md).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace memopt::recorder {

struct RecordOptions {
    std::vector<std::string> command;
    std::filesystem::path output;          // the root trace; children write OUTPUT.PID
    bool force = false;                    // replace an existing trace (and its child files)
    std::uint64_t stack_sample_bytes = 0;  // 0: no stacks
    unsigned stack_depth = 0;              // frames kept per stack; 0: the tracer's default
    unsigned interval_ms = 10;
    std::filesystem::path preload_library; // libmemopt_preload.so
    std::filesystem::path python_dir;      // prepended to PYTHONPATH (for `import memopt`)
    // Called once the command runs, with its pid (still unreaped until record returns), for
    // a watcher such as `record --live`; it must not block.
    std::function<void(int pid)> on_start;
};

struct RecordResult {
    int exit_code = 0;      // the command's status, 128+N when killed by signal N
    bool signaled = false;
    double wall_seconds = 0;
    std::uint64_t max_rss_kib = 0; // the program's ru_maxrss (wait4), never memopt's
    std::vector<std::filesystem::path> child_traces;
    // Set when the exit status could not be appended to the trace (disk full): the command's
    // status is still returned; the trace reads without it.
    std::string trace_warning;
};

// Throws memopt::Error before starting anything when the command cannot be found or the
// trace cannot be created (exists without `force`, unwritable directory, symlink).
RecordResult record(const RecordOptions& options);

// memopt-NAME-PID.trace in the current directory: never an existing file.
std::filesystem::path default_trace_path(const std::vector<std::string>& command);

} // namespace memopt::recorder
