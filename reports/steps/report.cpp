// Loading a per-step report (steps.json and the traces it names) and choosing its format.
#include "reports/steps/report.h"

#include "common/error.h"

#include <fmt/format.h>
#include <fmt/std.h>

namespace memopt::reports::steps {

namespace fs = std::filesystem;

std::vector<Timeline> read_timelines(const Steps& steps) {
    std::vector<Timeline> timelines;
    SummaryOptions options;
    options.resolve_symbols = false; // only the timeline and the phases are drawn
    for (const auto& step : steps.steps) {
        if (step.trace.empty()) continue;
        const fs::path path = fs::path(step.trace).is_absolute() ? fs::path(step.trace) : steps.dir / step.trace;
        Timeline timeline;
        timeline.label = step.pass == "baseline" ? "baseline" : fmt::format("step {} {}", step.step, step.pass);
        timeline.step = step.step;
        timeline.pass = step.pass;
        timeline.trace = step.trace;
        try {
            timeline.summary = summarize_trace(path, options);
        } catch (const Error& e) {
            throw Error(fmt::format("the trace of step {} named in {}: {}", step.step, steps.dir / "steps.json", e.what()));
        }
        timelines.push_back(std::move(timeline));
    }
    return timelines;
}

Report load_report(const nlohmann::json& doc, const fs::path& steps_json) {
    Report report;
    report.steps = parse_steps(doc, steps_json);
    report.timelines = read_timelines(report.steps);
    return report;
}

std::string render_steps_report(const nlohmann::json& doc, const fs::path& steps_json, const std::string& format) {
    if (format != "text" && format != "json" && format != "html")
        throw Error(fmt::format("format '{}' is not available for a per-step report {} (use text, json or html)", format,
                                steps_json));
    const Report report = load_report(doc, steps_json);
    if (format == "json") return report_json(report).dump(2) + "\n";
    if (format == "html") return report_html(report);
    return report_text(report);
}

} // namespace memopt::reports::steps
