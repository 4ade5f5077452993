#pragma once
// The differential check: run a program in a fresh directory, keep its stdout and every
// file it wrote there, and compare two such runs. Relative output paths in the arguments
// land in that directory; inputs are given as absolute paths (see resolve_args).
#include "transforms/measure.h"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace memopt::transforms {

inline constexpr const char* kPython = "/usr/bin/python3";

// How a step's program is started: /usr/bin/python3 FLAGS PROGRAM ARGS, with ENV.
struct Program {
    std::filesystem::path path;
    std::vector<std::string> python_flags;
    std::map<std::string, std::string> env;
};

// The command, as argv; with `relative` the program is named by its file name (run from
// its own directory) - the form written to steps.json.
std::vector<std::string> command_line(const Program& program, const std::vector<std::string>& args,
                                      bool relative = false);
RunSpec run_spec(const Program& program, const std::vector<std::string>& args, const std::filesystem::path& cwd);

// Arguments naming existing files or directories become absolute; the others stay as given.
std::vector<std::string> resolve_args(const std::vector<std::string>& args);

struct Snapshot {
    int status = -1;
    std::string out;
    std::string err_tail;                         // last lines of stderr, for messages
    std::map<std::string, std::string> files;     // path relative to the run directory -> bytes
};

// Runs once in `dir` (created empty; stdout/stderr go beside it, not into it).
Snapshot capture(const Program& program, const std::vector<std::string>& args, const std::filesystem::path& dir);

// "" when equal, else what differs ("stdout line 3: ...", "out.csv differs", ...).
std::string difference(const Snapshot& reference, const Snapshot& candidate);

// Runs `check` with /bin/sh -c in `dir` (MEMOPT_RUN_DIR, MEMOPT_STDOUT set); "" when it passes.
std::string run_check(const std::string& check, const std::filesystem::path& dir);

} // namespace memopt::transforms
