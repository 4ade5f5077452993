#pragma once
// The optimize loop: baseline -> each pass in the paper's order -> keep a
// candidate only when the differential check passes and its median peak RSS is lower ->
// repeat until no pass helps or the threshold is met. Writes OUT_DIR/stepN-PASS/,
// OUT_DIR/final/, steps.json (memopt.steps/1) and steps.md. A run that fails removes what
// it wrote, and nothing else (transforms/output_dir.h).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace memopt::transforms {

struct OptimizeOptions {
    std::filesystem::path script;
    std::vector<std::string> args;
    std::filesystem::path out_dir;
    std::optional<std::uint64_t> threshold_bytes;
    std::string check;            // user's check command: replaces the built-in comparison (verify.h)
    bool compare_stderr = false;  // --compare-stderr
    int reference_runs = 3;       // --reference-runs: observed runs of the baseline (at least 2)
    std::uintmax_t sandbox_max_bytes = std::uintmax_t{512} << 20; // --sandbox-max-mb
    bool allow_env_flags = false; // --allow-env-flags: flags may try -s, -E, -S, -I
    std::vector<std::string> passes;  // names from the pass table, in order; empty: every pass (pass_table.h)
    int runs = 3;
    int jobs = 1;                 // --jobs: program runs at a time (1 or 2; verify.h, the twin sandbox)
    int max_rounds = 3;
    int max_candidate_runs = 24;  // --max-candidate-runs: check runs of one pass's candidate-subset search
    bool probe = true;
    bool quiet = false;
};

struct OptimizeResult {
    std::uint64_t baseline_peak = 0;
    std::uint64_t final_peak = 0;
    bool threshold_met = true;
    std::filesystem::path final_program;
};

OptimizeResult optimize(const OptimizeOptions& options);

} // namespace memopt::transforms
