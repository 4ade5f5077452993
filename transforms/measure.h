#pragma once
// Running a program and measuring it through the one runner (common/runner.h): peak RSS is
// the program's own ru_maxrss (its images and the children it waited for, never memopt's;
// docs/peak-rss.md), wall time from a steady clock; the median of several runs.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace memopt::transforms {

struct RunSpec {
    std::vector<std::string> argv;            // argv[0] is searched in PATH when it has no '/'
    std::filesystem::path cwd;                // empty: the current directory
    std::map<std::string, std::string> env;   // added to (or replacing in) the environment
    std::filesystem::path stdout_file;        // empty: /dev/null
    std::filesystem::path stderr_file;        // empty: /dev/null
                                              // (stdin is /dev/null)
    bool tallied = true;                      // counted by run_tally() (the programs' runs, not memopt's helpers)
};

struct RunOutcome {
    int status = -1;          // exit status, or 128 + signal
    long max_rss_kib = 0;
    double wall_s = 0;
};

// Runs once; throws memopt::Error when the program cannot be started.
RunOutcome run_once(const RunSpec& spec);
// Runs every spec at the same time and waits for all (optimize's two sandboxes, verify.h);
// throws memopt::Error when one cannot be started (those started are killed).
std::vector<RunOutcome> run_together(const std::vector<RunSpec>& specs);

// Every run made through run_once in this process: how many and their total wall time (the
// optimize loop's estimate of the time left).
struct RunTally {
    int runs = 0;
    double wall_s = 0;
    int rounds = 0; // the times runs were started together (a run alone counts one): the runs' critical path
};
RunTally run_tally();

struct Measurement {
    std::uint64_t peak_rss_bytes = 0; // median
    double wall_s = 0;                // median
    std::vector<std::uint64_t> peak_rss_runs;
    std::vector<double> wall_runs;
};

// The medians of measured runs; throws memopt::Error naming `what` at the first that failed.
Measurement measurement_of(const std::vector<RunOutcome>& runs, const std::string& what);

// Runs `runs` times (stdout/stderr discarded unless the spec names files); throws
// memopt::Error naming `what` when a run fails.
Measurement measure(const RunSpec& spec, int runs, const std::string& what);

} // namespace memopt::transforms
