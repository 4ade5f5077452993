#pragma once
// The per-step table `memopt optimize` writes (OUT_DIR/steps.json, schema memopt.steps/1,
// docs/optimize.md) as a model, and the rows a per-step report shows. Knows nothing of any
// particular program: every figure here is what optimize measured for whatever it was given.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace memopt::reports::steps {

inline constexpr const char* kStepsSchema = "memopt.steps/1";

struct Step {
    int step = 0;
    std::string pass;                 // "baseline" or a pass name
    bool accepted = false;
    std::string reason;               // why it was rejected
    std::vector<std::string> changes;
    std::string dir;                  // relative to the optimize output directory; "" when the pass did not apply
    std::string program;              // relative to the optimize output directory
    std::vector<std::string> command; // the program named by its file name, run from `cwd`
    std::filesystem::path cwd;        // absolute; empty when steps.json has null
    bool measured = false;            // peak RSS and wall time present (accepted, or rejected as "not lower")
    std::uint64_t peak_rss_bytes = 0; // median of the runs
    std::vector<std::uint64_t> peak_rss_runs;
    double wall_s = 0;                // median of the runs
    std::vector<double> wall_runs;
    std::string trace;                // memopt record trace of this step, relative to the directory; "" when none
};

struct Steps {
    std::filesystem::path dir;        // the directory holding steps.json
    std::string script;
    std::vector<std::string> args;
    std::vector<Step> steps;          // every entry of the file, in the order optimize tried them
    std::string final_program;
    std::vector<std::string> final_command;
    std::optional<std::uint64_t> threshold_bytes;
    std::string traces_note;          // why a trace is missing ("" when optimize recorded both)
};

// Throws memopt::Error (one line, naming the file and the field) when the document does not
// follow memopt.steps/1: wrong schema, a missing or mistyped field, no accepted baseline first.
Steps parse_steps(const nlohmann::json& json, const std::filesystem::path& steps_json);
// Also for a missing, empty or truncated file.
Steps read_steps(const std::filesystem::path& steps_json);

// One line of a per-step report.
struct Row {
    const Step* step = nullptr;
    std::string title;                // "0 baseline", "2 dead-data"; callers may rename
    double saved_bytes = 0;           // against the previous accepted row (accepted rows only)
    double saved_pct = 0;
    double pct_of_baseline = 0;       // accepted rows only
};

// The steps a report shows, in order: every accepted step, and each pass that was never
// accepted once (its first rejection). A pass rejected in one round and accepted in a later
// one appears once, at its accepted step. The first row is the baseline.
std::vector<Row> report_rows(const Steps& steps);

std::uint64_t min_of(const std::vector<std::uint64_t>& runs, std::uint64_t fallback);
std::uint64_t max_of(const std::vector<std::uint64_t>& runs, std::uint64_t fallback);
double min_of(const std::vector<double>& runs, double fallback);
double max_of(const std::vector<double>& runs, double fallback);

} // namespace memopt::reports::steps
