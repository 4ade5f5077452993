#include "reports/gate/gate.h"

#include "common/error.h"
#include "common/sizes.h"
#include "reports/render/summary_format.h"

#include <cmath>
#include <fmt/format.h>

namespace memopt::reports {
namespace {

std::string size_text(std::uint64_t bytes) { return format_size_both(static_cast<double>(bytes)); }

} // namespace

GateMetric parse_gate_metric(std::string_view text) {
    if (text == "peak_rss") return GateMetric::kPeakRss;
    if (text == "peak_heap") return GateMetric::kPeakHeap;
    throw Error(fmt::format("unknown metric '{}' (use peak_rss or peak_heap)", text));
}

std::string_view gate_metric_name(GateMetric metric) {
    return metric == GateMetric::kPeakRss ? "peak_rss" : "peak_heap";
}

std::uint64_t gate_metric_value(const Summary& summary, GateMetric metric) {
    return metric == GateMetric::kPeakRss ? summary.peak_rss_bytes : summary.peak_heap_bytes;
}

GateLimit limit_from_size(std::uint64_t max_bytes, GateMetric metric, std::string_view text) {
    GateLimit limit;
    limit.metric = metric;
    limit.limit_bytes = max_bytes;
    limit.source = fmt::format("--max-peak {}", text.empty() ? size_text(max_bytes) : std::string(text));
    return limit;
}

GateLimit limit_from_baseline(const Summary& baseline, GateMetric metric, double tolerance_percent,
                              const std::string& baseline_name) {
    if (!std::isfinite(tolerance_percent) || tolerance_percent < 0 || tolerance_percent > 10000)
        throw Error(fmt::format("--tolerance {} is out of range (0 to 10000 percent)", tolerance_percent));
    const std::uint64_t base = gate_metric_value(baseline, metric);
    if (base == 0)
        throw Error(fmt::format("baseline {} has no {} value (0 bytes); record it again with --save",
                                baseline_name, gate_metric_name(metric)));
    GateLimit limit;
    limit.metric = metric;
    limit.baseline_bytes = base;
    limit.tolerance_percent = tolerance_percent;
    const long double scaled = static_cast<long double>(base) * (1.0L + tolerance_percent / 100.0L);
    limit.limit_bytes = scaled >= 1.8e19L ? ~0ull : static_cast<std::uint64_t>(scaled);
    limit.source = fmt::format("baseline {} ({}) +{:g}%", baseline_name, size_text(base), tolerance_percent);
    return limit;
}

GateVerdict evaluate_gate(const Summary& run, const GateLimit& limit) {
    GateVerdict verdict;
    verdict.metric = limit.metric;
    verdict.measured = gate_metric_value(run, limit.metric);
    verdict.limit = limit.limit_bytes;
    verdict.passed = verdict.measured <= verdict.limit;
    verdict.margin_bytes = static_cast<std::int64_t>(verdict.measured) - static_cast<std::int64_t>(verdict.limit);
    verdict.margin_percent = verdict.limit == 0 ? (verdict.measured == 0 ? 0.0 : 100.0)
                                                : 100.0 * static_cast<double>(verdict.margin_bytes) /
                                                      static_cast<double>(verdict.limit);
    const std::uint64_t distance = verdict.margin_bytes < 0 ? static_cast<std::uint64_t>(-verdict.margin_bytes)
                                                            : static_cast<std::uint64_t>(verdict.margin_bytes);
    if (verdict.passed)
        verdict.line = fmt::format("memopt gate: PASS {} {} within limit {} ({}), {} ({:.1f}%) to spare",
                                   gate_metric_name(limit.metric), size_text(verdict.measured),
                                   size_text(verdict.limit), limit.source, size_text(distance),
                                   -verdict.margin_percent);
    else
        verdict.line = fmt::format("memopt gate: FAIL {} {} exceeds limit {} ({}) by {} (+{:.1f}%)",
                                   gate_metric_name(limit.metric), size_text(verdict.measured),
                                   size_text(verdict.limit), limit.source, size_text(distance),
                                   verdict.margin_percent);
    return verdict;
}

std::string github_error_annotation(std::string_view title, std::string_view message) {
    auto escape = [](std::string_view text, bool property) {
        std::string out;
        for (const char c : text) {
            if (c == '%') out += "%25";
            else if (c == '\r') out += "%0D";
            else if (c == '\n') out += "%0A";
            else if (property && c == ':') out += "%3A";
            else if (property && c == ',') out += "%2C";
            else out += c;
        }
        return out;
    };
    return fmt::format("::error title={}::{}", escape(title, true), escape(message, false));
}

} // namespace memopt::reports
