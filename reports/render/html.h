#pragma once
// Self-contained HTML reports with inline SVG charts: no fonts, no network; the one script is
// flame_script() (zoom and search of the flame graphs). Every string that comes from the traced
// program goes through escape() (markup) or script_safe_json() (the flame graphs' data).
#include "reports/analysis/stacks.h"
#include "reports/analysis/summary.h"
#include "reports/analysis/trace_diff.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace memopt::reports::html {

// Text for HTML and XML (SVG) content and attribute values.
std::string escape(std::string_view text);
// "12.3 MB" (10^6 bytes, as the paper counts).
std::string megabytes(double bytes, int decimals = 1);
// A whole document: <head> with the inline style sheet, then `body`.
std::string page(const std::string& title, const std::string& body);
// A table; cells are escaped unless `raw_cells`.
std::string table(const std::vector<std::string>& headers, const std::vector<std::vector<std::string>>& rows,
                  bool raw_cells = false);

struct Series {
    std::string name;
    std::string color;
    std::vector<double> x;
    std::vector<double> y;
    bool dashed = false;
    bool step = false; // draw as a step line (a value holds until the next point)
};

struct Band {
    double start = 0;
    double end = 0;
    std::string label;
};

struct LineChart {
    std::string title;
    std::string x_label = "time (s)";
    std::string y_label = "MB";
    double y_scale = 1e-6; // data units -> axis units
    std::vector<Series> series;
    std::vector<Band> bands;
    int width = 960;
    int height = 340;
};
std::string line_chart(const LineChart& chart);

struct Bar {
    double value = 0;
    double low = std::numeric_limits<double>::quiet_NaN(); // error bar (min..max); NaN: none
    double high = std::numeric_limits<double>::quiet_NaN();
    std::string note; // printed above the bar
    bool missing = false; // drawn as "n/a"
};

struct BarGroup {
    std::string label;
    std::vector<Bar> bars; // one per BarChart::series
};

struct BarChart {
    std::string title;
    std::string y_label;
    std::vector<std::string> series; // legend names
    std::vector<std::string> colors;
    std::vector<BarGroup> groups;
    int width = 960;
    int height = 360;
};
std::string bar_chart(const BarChart& chart);

// Flame graph of byte-weighted stacks (outermost frame at the bottom), or an empty string
// when there are no stacks: a <div class="flame"> with a search box, an SVG the script fills
// and the graph's data as JSON. A page with flame graphs ends with flame_script() once.
std::string flame_graph(const std::vector<WeightedStack>& stacks, const std::string& title, int width = 1100);
// Differential flame graph: width is the larger of the two traces' bytes, red frames grew,
// blue ones shrank (the deeper the colour, the larger the change for the frame's size).
std::string diff_flame_graph(const std::vector<StackChange>& stacks, const std::string& title, int width = 1100);
// The <script> element that draws, zooms and searches every flame graph of the page.
const char* flame_script();
// JSON that can sit inside a <script> element: '<', '>' and '&' written as JSON unicode escapes.
std::string script_safe_json(const nlohmann::json& value);

} // namespace memopt::reports::html

namespace memopt::reports {

// The report of one trace: summary, heap/RSS timeline with phases, phase table, top sites
// and, when `stacks` has any, flame graphs.
std::string trace_report_html(const Summary& summary, const StackProfile* stacks);
// The report of a probe profile (memopt.profile/1): RSS timeline, phases, import tree,
// modules that never ran, top lines, object census.
std::string profile_report_html(const nlohmann::json& profile);

} // namespace memopt::reports
