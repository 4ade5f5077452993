#pragma once
// The four passes. Each reads a program and writes a new one into `out_dir` (never the
// input); the AST work is done by python/memopt/transforms run with /usr/bin/python3.
#include "transforms/differential.h"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace memopt::transforms {

struct PassInput {
    Program program;                                // the program to transform and how it is run
    std::vector<std::string> args;                  // its arguments (flags measures runs)
    std::filesystem::path out_dir;                  // created by the pass; must not be the input's
    std::optional<std::filesystem::path> profile;   // memopt.profile/1 from `memopt probe`
    std::filesystem::path work_dir;                 // scratch space for measured runs (flags)
    int runs = 3;                                   // measured runs per candidate (flags)
    std::uint64_t current_peak_rss = 0;             // flags: the peak to beat (0: measure)
    void (*progress)(const std::string&) = nullptr;
};

struct PassReport {
    std::string name;
    bool applied = false;
    std::vector<std::string> changes;
    std::string reason;                             // why it did not apply
    Program program;                                // the new program when applied
};

inline constexpr const char* kPassNames[] = {"static-to-dynamic", "dead-data", "flatten", "flags"};

PassReport static_to_dynamic(const PassInput& input);
PassReport dead_data(const PassInput& input);
PassReport flatten(const PassInput& input);
PassReport flags(const PassInput& input);

// By name ("static-to-dynamic", ...); throws memopt::Error for an unknown name.
PassReport run_pass(const std::string& name, const PassInput& input);

// Runs the Python side of pass `name` ("copy" copies the program and its local modules).
PassReport run_python_pass(const std::string& name, const PassInput& input, const std::string& launcher_json = "");

} // namespace memopt::transforms
