#pragma once
// A gate baseline file: a memopt.summary/1 summary (reports/analysis/summary_json.h) plus a
// "gate" object saying how it is to be compared, so `gate --metric peak_heap --save B` then
// `gate --baseline B` compares peak_heap again:
//   "gate": {"metric": "peak_heap", "tolerance_percent": 10, "command": ["python3", "x.py"]}
// The summary readers ignore the extra object, so a baseline is still a summary
// (`memopt report B` reads it). A summary without it (`report --format json`, or a gate of
// before the object existed) is a baseline too: metric peak_rss, tolerance 10, with a note.
// The command is data: it is compared with the gated command, never run.
#include "reports/analysis/summary.h"
#include "reports/gate/gate.h"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace memopt::reports {

inline constexpr double kDefaultTolerancePercent = 10.0;

// How the baseline is to be compared, recorded by `gate --save`.
struct GateSettings {
    GateMetric metric = GateMetric::kPeakRss;
    double tolerance_percent = kDefaultTolerancePercent;
    std::vector<std::string> command; // as given to `memopt gate -- CMD ARGS...`
};

struct GateBaseline {
    Summary summary;
    std::optional<GateSettings> settings; // nullopt: the file has no "gate" object
};

// Bounded, checked read (read_json_file + summary_from_json) plus the "gate" object, whose
// fields are checked for type and range; throws memopt::Error naming the file and field.
GateBaseline read_gate_baseline(const std::filesystem::path& path);
// The summary's JSON with the "gate" object, through common/output_file.h (mode 0600, never
// through a symlink, temporary + rename; an existing file only with `force`).
void save_gate_baseline(const Summary& summary, const GateSettings& settings,
                        const std::filesystem::path& path, bool force);

// What the gate's command line says; nullopt where it says nothing.
struct GateChoices {
    std::optional<GateMetric> metric;
    std::optional<double> tolerance_percent;
};

struct BaselineLimit {
    GateLimit limit;
    GateSettings settings;          // what was used (to record again with --save)
    std::vector<std::string> notes; // one line each, for stderr: overrides, old file, other command
};

// The limit from a baseline: an explicit choice wins over the file's settings (with a note
// when they differ), the file's settings win over the defaults (peak_rss, 10%; a note says
// when the file has none). `command` is the command being gated, compared with the recorded one.
BaselineLimit limit_from_gate_baseline(const GateBaseline& baseline, const GateChoices& choices,
                                       const std::vector<std::string>& command, const std::string& baseline_name);

} // namespace memopt::reports
