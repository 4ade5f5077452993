#pragma once
// Running a pass. Each reads a program and writes a new one into `out_dir` (never the
// input); the AST work is done by python/memopt/transforms run with /usr/bin/python3. Which
// passes exist, in which order, and of which kind is the pass table (transforms/pass_table.h).
#include "transforms/candidate_search.h"
#include "transforms/differential.h"
#include "transforms/pass_table.h"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace memopt::transforms {

class Verifier; // transforms/verify.h

struct PassInput {
    Program program;                                // the program to transform and how it is run
    std::vector<std::string> args;                  // its arguments (launcher passes measure runs)
    std::filesystem::path out_dir;                  // created by the pass; must not be the input's
    std::optional<std::filesystem::path> profile;   // memopt.profile/1 from `memopt probe`
    std::filesystem::path work_dir;                 // scratch space for measured runs (launcher passes)
    int runs = 3;                                   // measured runs per candidate (launcher passes)
    std::vector<std::uint64_t> current_peak_runs;   // launcher passes: the measured runs to beat (empty: measure)
    std::uint64_t current_screen_peak = 0;          // launcher passes: the hooked run to screen against (0: the reference's)
    std::optional<std::vector<std::string>> select; // rewrite passes with candidates: apply only these ids (--select)
    Verifier* verifier = nullptr;                   // launcher passes: the loop's sandbox and reference (null: own)
    bool allow_env_flags = false;                   // launcher passes: also try -s, -E, -S, -I
    void (*progress)(const std::string&) = nullptr;
};

struct PassReport {
    std::string name;
    bool applied = false;
    std::vector<std::string> changes;
    std::vector<PassCandidate> candidates;          // the edits it can make one by one (--select), largest first
    std::string reason;                             // why it did not apply
    Program program;                                // the new program when applied
    std::filesystem::path diff;                     // its unified diff against the input (empty: none)
};

// By name, as the pass table declares it; throws memopt::Error for an unknown name.
PassReport run_pass(const std::string& name, const PassInput& input);

// Runs the Python side of pass `name` ("copy" copies the program and its local modules).
PassReport run_python_pass(const std::string& name, const PassInput& input, const std::string& launcher_json = "");

// Writes OUT_DIR/changes.diff, the unified diff of program NEW against OLD (the Python side's
// one implementation); returns its path, or nothing when the two are identical (a stale one
// is removed). Throws memopt::Error when it cannot be written.
std::optional<std::filesystem::path> write_program_diff(const std::filesystem::path& old_program,
                                                        const std::filesystem::path& new_program,
                                                        const std::filesystem::path& out_dir);

// A launcher pass (transforms/flags.cpp): measures interpreter options and environment
// settings one after another, then has the pass's Python module write the chosen launcher.
PassReport search_launcher(const PassInfo& pass, const PassInput& input);
// How many options and settings it tries at most (the loop's estimate of the runs left).
int launcher_trial_count(bool allow_env_flags);

} // namespace memopt::transforms
