#pragma once
// The summary file: JSON of schema memopt.summary/1 (what `gate --baseline` and the study
// read), written and read here and nowhere else.
#include "reports/analysis/summary.h"

#include <filesystem>
#include <nlohmann/json.hpp>

namespace memopt::reports {

inline constexpr const char* kSummarySchema = "memopt.summary/1";

nlohmann::json summary_to_json(const Summary& summary);
// Reads a summary written by summary_to_json. Every field present is checked for type and
// range; throws memopt::Error naming the missing, mistyped or out-of-range field.
Summary summary_from_json(const nlohmann::json& json);
// A summary file (a baseline): a regular file, bounded size and nesting, checked as above.
// Throws memopt::Error naming the file. Nothing in it is ever executed.
Summary read_summary_file(const std::filesystem::path& path);
// Writes `summary` as JSON through common/output_file.h (mode 0600, never through a
// symlink, temporary + rename; an existing file only with `force`).
void save_summary_file(const Summary& summary, const std::filesystem::path& path, bool force);

} // namespace memopt::reports
