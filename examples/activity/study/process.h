#pragma once
// Runs one program the way the study measures it: through common/runner.h (posix_spawn of
// memopt-spawn), wall time around it, the program's own peak RSS (docs/peak-rss.md).
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace memopt::reports::study {

struct RunSpec {
    std::vector<std::string> argv;
    std::filesystem::path cwd;                    // empty: the current directory
    std::map<std::string, std::string> env;       // added to (or replacing in) the environment
    std::optional<std::filesystem::path> stdout_file; // none: inherit
    std::optional<std::filesystem::path> stderr_file; // none: inherit
    bool stdout_to_stderr = false;                // when stdout_file is empty: send stdout to stderr
};

struct RunResult {
    int status = -1;             // exit status, or 128 + signal
    double wall_s = 0;
    std::uint64_t max_rss_bytes = 0;
};

// Throws memopt::Error when the program cannot be started.
RunResult run_program(const RunSpec& spec);

// "a b 'c d'" for messages.
std::string shell_words(const std::vector<std::string>& argv);

} // namespace memopt::reports::study
