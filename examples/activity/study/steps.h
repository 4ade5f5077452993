#pragma once
// The per-step table `memopt optimize` writes (OUT_DIR/steps.json, schema memopt.steps/1).
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace memopt::reports::study {

inline constexpr const char* kStepsSchema = "memopt.steps/1";

struct OptimizeStep {
    int step = 0;
    std::string pass;            // "baseline", "static-to-dynamic", "dead-data", "flatten", "flags"
    std::string dir;             // relative to the optimize output directory
    std::string program;         // relative to the optimize output directory
    std::vector<std::string> command;
    std::filesystem::path cwd;   // absolute; empty when steps.json has null
    bool accepted = false;
    std::string reason;
    std::vector<std::string> changes;
    std::uint64_t optimize_peak_rss_bytes = 0; // what optimize measured (for reference)
    double optimize_wall_s = 0;
};

struct OptimizeSteps {
    std::filesystem::path dir; // the directory holding steps.json
    std::string script;
    std::vector<std::string> args;
    std::vector<OptimizeStep> steps; // in paper order, baseline first
    std::string final_program;
};

// Throws memopt::Error naming the file and field when steps.json does not follow the schema.
OptimizeSteps read_steps(const std::filesystem::path& steps_json);
OptimizeSteps parse_steps(const nlohmann::json& json, const std::filesystem::path& dir);

} // namespace memopt::reports::study
