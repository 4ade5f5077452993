#pragma once
// Runs the Python side of the passes: `/usr/bin/python3 -m memopt.transforms ARGS` with
// memopt's package on PYTHONPATH, its stdout and stderr captured.
#include <filesystem>
#include <string>
#include <vector>

namespace memopt::transforms {

struct PythonOutput {
    int status = -1;
    std::string out;              // the whole of stdout
    std::string last_error_line;  // the last non-empty line of stderr, for messages
};

// stdout and stderr go to CAPTURE_BASE.out and CAPTURE_BASE.err while it runs (removed
// afterwards); throws memopt::Error when python3 cannot be started.
PythonOutput run_transforms_module(const std::vector<std::string>& args, const std::filesystem::path& capture_base);

} // namespace memopt::transforms
