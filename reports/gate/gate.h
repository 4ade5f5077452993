#pragma once
// `memopt gate`: decides whether a run's peak memory is within a limit, either an absolute
// size (--max-peak) or a recorded baseline summary plus a tolerance. Pure functions over a
// Summary; running the command and printing live in cli/gate.cpp. Baselines are read
// with read_summary_file (reports/render/summary_format.h).
#include "reports/analysis/summary.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace memopt::reports {

enum class GateMetric { kPeakRss, kPeakHeap };

// "peak_rss" | "peak_heap"; throws memopt::Error on anything else.
GateMetric parse_gate_metric(std::string_view text);
std::string_view gate_metric_name(GateMetric metric);
std::uint64_t gate_metric_value(const Summary& summary, GateMetric metric);

struct GateLimit {
    GateMetric metric = GateMetric::kPeakRss;
    std::uint64_t limit_bytes = 0;
    // Set when the limit comes from a baseline: its measured value and the tolerance.
    std::optional<std::uint64_t> baseline_bytes;
    double tolerance_percent = 0;
    std::string source; // "--max-peak 24 MB" or "baseline FILE +10%"
};

// limit = baseline value * (1 + tolerance/100), rounded down to whole bytes.
GateLimit limit_from_baseline(const Summary& baseline, GateMetric metric, double tolerance_percent,
                              const std::string& baseline_name);
// `text` is the size as the user wrote it (shown in the verdict); empty: formatted.
GateLimit limit_from_size(std::uint64_t max_bytes, GateMetric metric, std::string_view text = {});

struct GateVerdict {
    bool passed = false;
    GateMetric metric = GateMetric::kPeakRss;
    std::uint64_t measured = 0;
    std::uint64_t limit = 0;
    std::int64_t margin_bytes = 0; // measured - limit (negative: headroom)
    double margin_percent = 0;     // of the limit
    std::string line;              // the one-line verdict printed by `memopt gate`
};

GateVerdict evaluate_gate(const Summary& run, const GateLimit& limit);

// A GitHub Actions workflow command: "::error title=memopt gate::MESSAGE" with the
// characters GitHub treats specially (%, CR, LF) escaped.
std::string github_error_annotation(std::string_view title, std::string_view message);

} // namespace memopt::reports
