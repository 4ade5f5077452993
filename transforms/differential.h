#pragma once
// How a step's program is run: its command line and run spec. Running it in the sandbox
// and comparing its outputs is transforms/verify.h (sandbox.h, outputs.h).
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

// Arguments naming existing files or directories become absolute; the others stay as given.
std::vector<std::string> resolve_args(const std::vector<std::string>& args);

} // namespace memopt::transforms
