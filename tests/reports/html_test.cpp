// HTML building blocks: escaping, charts as well-formed SVG, the profile page.
#include "reports/render/html.h"
#include "tests/reports/common.h"

using namespace memopt;
using namespace memopt::test;
namespace html = memopt::reports::html;

TEST_CASE("escape covers markup, attributes and control characters") {
    CHECK(html::escape("<a href=\"x\">'&'</a>") == "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    CHECK(html::escape(std::string("a\x01") + "b") == "a b");
}

TEST_CASE("charts are well-formed SVG whatever the labels") {
    ScratchDir dir("memopt-charts");
    html::LineChart line;
    line.title = "t <&> \"q\"";
    line.series = {{"rss <1>", "#d62728", {0, 1, 2}, {1e6, 5e6, 2e6}, false, false},
                   {"heap & co", "#1f77b4", {0, 2}, {0, 3e6}, true, true}};
    line.bands = {{0.2, 0.9, "load</text><script>"}, {1.0, 1.0, ""}};
    CHECK(well_formed_xml(html::line_chart(line), dir, "line.svg"));
    html::LineChart empty;
    CHECK(well_formed_xml(html::line_chart(empty), dir, "empty.svg"));

    html::BarChart bars;
    bars.title = "bars";
    bars.series = {"ours", "paper"};
    bars.colors = {"#000", "#888"};
    html::Bar missing;
    missing.missing = true;
    html::Bar ours{240, 235, 245, "240 <x>"};
    html::Bar paper_baseline, paper_step;
    paper_baseline.value = 258;
    paper_step.value = 219;
    bars.groups = {{"1. static baseline", {ours, paper_baseline}}, {"rejected & gone", {missing, paper_step}}};
    CHECK(well_formed_xml(html::bar_chart(bars), dir, "bars.svg"));

    const std::string flame = html::flame_graph({{{"main", "f<&>", "g\"'"}, 1000, 1}, {{"main", "h"}, 1, 1}}, "flame <x>");
    const auto flame_svgs = svg_blocks(flame); // the frame the script draws in
    REQUIRE(flame_svgs.size() == 1);
    CHECK(well_formed_xml(flame_svgs[0], dir, "flame.svg"));
    CHECK(flame_svgs[0].find("flame &lt;x&gt;") != std::string::npos);
    CHECK(flame.find("f\\u003c\\u0026\\u003e") != std::string::npos); // the frame's name in the data block
    CHECK(html::flame_graph({}, "none").empty());
}

TEST_CASE("profile page: import tree and never-run modules, escaped") {
    ScratchDir dir("memopt-profile-html");
    const auto profile = nlohmann::json::parse(R"({
      "schema": "memopt.profile/1", "argv": ["app<1>.py", "a&b"], "duration_s": 1.5, "exit_status": 0, "peak_rss_bytes": 5e7,
      "interpreter": {"executable": "/usr/bin/python3", "version": "3.11", "optimize": 0},
      "rss_timeline": {"t_s": [0, 0.5, 1.0], "rss_bytes": [1e7, 5e7, 4e7]},
      "phases": [{"name": "load<x>", "start_s": 0.1, "end_s": 0.6, "peak_rss_bytes": 5e7}],
      "imports": {"total": {"count": 2, "rss_bytes": 3e7, "time_s": 0.4},
                  "tree": [{"id": 0, "parent": -1, "name": "pandas", "own": {"rss_bytes": 1e6, "time_s": 0.1},
                            "cumulative": {"rss_bytes": 3e7, "time_s": 0.4}, "failed": false},
                           {"id": 1, "parent": 0, "name": "pandas.<evil>", "own": {"rss_bytes": 2e7, "time_s": 0.2},
                            "cumulative": {"rss_bytes": 2e7, "time_s": 0.2}, "failed": false}]},
      "modules": {"pandas": {"ran": true, "own": {"rss_bytes": 1e6}, "cumulative": {"rss_bytes": 3e7, "time_s": 0.4}},
                  "pandas.<evil>": {"ran": false, "preloaded": false, "imported_by": "pandas",
                                    "own": {"rss_bytes": 2e7}, "cumulative": {"rss_bytes": 2e7, "time_s": 0.2}}}
    })");
    const std::string page = reports::profile_report_html(profile);
    CHECK(page.find("pandas.&lt;evil&gt;") != std::string::npos);
    CHECK(page.find("<evil>") == std::string::npos);
    CHECK(page.find("Modules never run (1)") != std::string::npos);
    CHECK(page.find("Import tree") != std::string::npos);
    const auto svgs = svg_blocks(page);
    REQUIRE(svgs.size() == 1);
    CHECK(well_formed_xml(svgs[0], dir, "timeline.svg"));
}

TEST_CASE("profile page from a real memopt probe run") {
    ScratchDir dir("memopt-probe-html");
    if (run(fmt::format("{} probe --help", quote(MEMOPT_BINARY))).status != 0) {
        WARN("memopt probe is not built here; skipped");
        return;
    }
    const auto script = dir / "p<1>.py";
    std::ofstream(script) << "import json, csv\nimport memopt\nwith memopt.phase('w<1>'):\n"
                             "    x = [bytearray(1000) for _ in range(10000)]\nprint(len(x))\n";
    const auto profile = dir / "p.json", page = dir / "p.html";
    auto result = run(fmt::format("cd {} && {} probe -o {} -- {}", quote(dir.path().string()), quote(MEMOPT_BINARY),
                                  quote(profile.string()), quote(script.string())));
    INFO(result.out << result.err);
    REQUIRE(result.status == 0);
    result = run(fmt::format("{} report {} --format html -o {}", quote(MEMOPT_BINARY), quote(profile.string()), quote(page.string())));
    INFO(result.err);
    REQUIRE(result.status == 0);
    const std::string html = read_file(page);
    for (const char* text : {"Import tree", "Modules never run", "w&lt;1&gt;", "p&lt;1&gt;.py", "Top allocating lines"})
        CHECK(html.find(text) != std::string::npos);
    CHECK(html.find("<script") == std::string::npos);
    const auto svgs = svg_blocks(html);
    REQUIRE(!svgs.empty());
    for (std::size_t i = 0; i < svgs.size(); ++i) CHECK(well_formed_xml(svgs[i], dir, fmt::format("p{}.svg", i)));
}
