#pragma once
// The per-step report of any `memopt optimize` run (memopt report OUT/steps.json): the
// footprint per step with what each step saved, the latency per step, and the memory
// timelines of the baseline and of the first accepted step from the traces optimize
// recorded (docs/reports.md, "Per-step report"). Text, JSON and self-contained HTML+SVG.
#include "reports/analysis/summary.h"
#include "reports/render/html.h"
#include "reports/steps/steps.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace memopt::reports::steps {

inline constexpr const char* kStepsReportSchema = "memopt.steps-report/1";

// One recorded run: the summary of its trace (timeline and phases).
struct Timeline {
    std::string label;   // "baseline", "step 1 static-to-dynamic"
    int step = 0;
    std::string pass;
    std::string trace;   // as named in steps.json
    Summary summary;
};

struct Report {
    Steps steps;
    std::vector<Timeline> timelines; // baseline first; empty when optimize recorded none
};

// The traces steps.json names, summarized; throws memopt::Error naming a trace that is
// missing or unreadable.
std::vector<Timeline> read_timelines(const Steps& steps);
Report load_report(const nlohmann::json& doc, const std::filesystem::path& steps_json);

std::string report_text(const Report& report);
nlohmann::json report_json(const Report& report);
std::string report_html(const Report& report);

// `memopt report STEPS.json --format FORMAT` for an already parsed document; throws
// memopt::Error for a format other than text, json and html.
std::string render_steps_report(const nlohmann::json& doc, const std::filesystem::path& steps_json,
                                const std::string& format);

// The pieces of the HTML page, for pages that add their own series or tables (the activity
// study adds the paper's values). Charts keep the order of `rows`: one group per row.
html::BarChart footprint_chart(const std::vector<Row>& rows);
html::BarChart latency_chart(const std::vector<Row>& rows); // accepted rows only
html::LineChart timeline_chart(const std::vector<Timeline>& timelines);
std::string timeline_table(const std::vector<Timeline>& timelines);
std::string steps_table(const std::vector<Row>& rows);

} // namespace memopt::reports::steps
