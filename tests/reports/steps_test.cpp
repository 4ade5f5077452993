// The per-step report (reports/steps): each step once and in order in every format, bad
// steps.json refused in one line, and `memopt optimize` + `memopt report steps.json` end to end.
#include "common/error.h"
#include "reports/steps/report.h"
#include "tests/reports/common.h"

#include <functional>
#include <nlohmann/json.hpp>

using namespace memopt;
using namespace memopt::test;
namespace steps = memopt::reports::steps;
namespace html = memopt::reports::html;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json measured(int n, const std::string& pass, bool accepted, double mb, const std::string& reason = "") {
    const auto bytes = static_cast<std::uint64_t>(mb * 1e6);
    return {{"step", n},          {"pass", pass},
            {"accepted", accepted}, {"reason", reason},
            {"changes", {pass + " changed <something>"}}, {"dir", fmt::format("step{}-{}", n, pass)},
            {"program", fmt::format("step{}-{}/s.py", n, pass)}, {"command", {"/usr/bin/python3", "s.py"}},
            {"cwd", nullptr}, {"peak_rss_bytes", bytes}, {"peak_rss_runs", {bytes - 100000, bytes, bytes + 200000}},
            {"wall_s", 1.0 + n / 10.0}, {"wall_runs", {1.0, 1.0 + n / 10.0, 2.0}}};
}

json rejected(int n, const std::string& pass, const std::string& reason) {
    return {{"step", n}, {"pass", pass}, {"accepted", false}, {"reason", reason}, {"changes", json::array()}, {"dir", ""}};
}

// Round 1: dead-data rejected (output differs), flags rejected; round 2: dead-data accepted,
// flags rejected again.
json hand_written() {
    json doc = {{"schema", "memopt.steps/1"}, {"script", "/work/s.py"}, {"args", {"in.csv"}}, {"final", "final/s.py"},
                {"final_command", {"/usr/bin/python3", "final/s.py", "in.csv"}}};
    doc["steps"] = {measured(0, "baseline", true, 200),
                    measured(1, "static-to-dynamic", true, 150),
                    rejected(2, "dead-data", "output differs: stdout line 1"),
                    measured(3, "flatten", true, 100),
                    measured(4, "flags", false, 101, "peak RSS not lower (101.0 MB vs 100.0 MB)"),
                    measured(5, "dead-data", true, 90),
                    rejected(6, "flags", "output differs: out.csv differs")};
    return doc;
}

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
    return n;
}

std::vector<std::size_t> positions(const std::string& text, const std::vector<std::string>& words) {
    std::vector<std::size_t> out;
    for (const auto& word : words) out.push_back(text.find(word));
    return out;
}

const std::vector<std::string> kShown = {"0 baseline", "1 static-to-dynamic", "3 flatten", "4 flags", "5 dead-data"};

} // namespace

TEST_CASE("per-step report: a pass rejected in one round and accepted in a later one appears once, in order") {
    ScratchDir dir("memopt-steps-report");
    const json doc = hand_written();
    const auto report = steps::load_report(doc, dir / "steps.json");
    const auto rows = steps::report_rows(report.steps);
    std::vector<std::string> titles;
    for (const auto& row : rows) titles.push_back(row.title);
    CHECK(titles == kShown);
    CHECK(rows[1].saved_bytes == Approx(50e6));
    CHECK(rows[4].saved_pct == Approx(10.0)); // 100 -> 90 MB, against the last accepted step
    CHECK(rows[4].pct_of_baseline == Approx(45.0));

    const std::string text = steps::report_text(report);
    for (const auto& title : kShown) CHECK(count(text, title) == 1);
    CHECK(count(text, "2 dead-data") == 0);
    CHECK(count(text, "6 flags") == 0);
    const auto at = positions(text, kShown);
    CHECK(std::is_sorted(at.begin(), at.end()));
    CHECK(text.find("no traces recorded") != std::string::npos);

    const json out = steps::report_json(report);
    CHECK(out["schema"] == "memopt.steps-report/1");
    std::vector<std::string> json_titles;
    for (const auto& step : out["steps"]) json_titles.push_back(step["title"]);
    CHECK(json_titles == kShown);
    CHECK(out["steps"][4]["peak_rss_min_bytes"] == 89900000);

    const std::string page = steps::report_html(report);
    const auto svgs = svg_blocks(page);
    REQUIRE(svgs.size() == 2); // footprint and latency; no traces, so no timeline
    // Group labels are <text> elements (the bars' tooltips repeat them in <title>).
    for (const auto& title : kShown)
        CHECK(count(svgs[0], ">" + title + "</text>") + count(svgs[0], ">" + title + " (rejected)</text>") == 1);
    CHECK(count(svgs[0], "dead-data</text>") == 1);
    CHECK(svgs[0].find("4 flags (rejected)") != std::string::npos);
    CHECK(count(svgs[1], "<rect x=") == 4 + 1); // the four accepted steps' bars and the legend
    CHECK(page.find("changed &lt;something&gt;") != std::string::npos);
    CHECK(page.find("No traces in this steps.json") != std::string::npos);
    for (std::size_t i = 0; i < svgs.size(); ++i) CHECK(well_formed_xml(svgs[i], dir, fmt::format("chart{}.svg", i)));
}

TEST_CASE("per-step report: the timelines of the recorded baseline and first accepted step, with phases") {
    ScratchDir dir("memopt-steps-timelines");
    fs::create_directories(dir / "traces");
    fs::copy_file(recorded_trace(), dir / "traces/baseline.trace");
    fs::copy_file(recorded_trace(), dir / "traces/step-1.trace");
    json doc = hand_written();
    doc["steps"][0]["trace"] = "traces/baseline.trace";
    doc["steps"][1]["trace"] = "traces/step-1.trace";
    const auto report = steps::load_report(doc, dir / "steps.json");
    REQUIRE(report.timelines.size() == 2);
    CHECK(report.timelines[1].label == "step 1 static-to-dynamic");
    CHECK(!report.timelines[0].summary.timeline.empty());
    const std::string page = steps::report_html(report);
    const auto svgs = svg_blocks(page);
    REQUIRE(svgs.size() == 3);
    CHECK(svgs[1].find("Resident memory over time: baseline vs step 1 static-to-dynamic") != std::string::npos);
    CHECK(count(svgs[1], "<polyline") == 2);
    CHECK(svgs[1].find(html::escape(kEvilPhase)) != std::string::npos); // the phase band, escaped
    CHECK(well_formed_xml(svgs[1], dir, "timeline.svg"));
    CHECK(steps::report_text(report).find("phase free:") != std::string::npos);
    CHECK(steps::report_json(report)["timelines"][1]["summary"]["phases"].size() == 2);

    fs::remove(dir / "traces/step-1.trace");
    CHECK_THROWS_WITH(steps::load_report(doc, dir / "steps.json"), Catch::Contains("the trace of step 1"));
}

TEST_CASE("per-step report: a bad steps.json is refused with one line naming the file and the field") {
    ScratchDir dir("memopt-steps-bad");
    const fs::path file = dir / "steps.json";
    const std::string good = hand_written().dump(2);
    std::ofstream(file) << good.substr(0, good.size() / 2); // truncated
    CHECK_THROWS_WITH(steps::read_steps(file), Catch::Contains("is not valid JSON"));
    std::ofstream(file, std::ios::trunc) << "";
    CHECK_THROWS_AS(steps::read_steps(file), Error);
    CHECK_THROWS_WITH(steps::read_steps(dir / "absent.json"), Catch::Contains("cannot read"));

    auto refuses = [&](const std::function<void(json&)>& spoil, const std::string& message) {
        json doc = hand_written();
        spoil(doc);
        INFO(message);
        CHECK_THROWS_WITH(steps::parse_steps(doc, file), Catch::Contains(message));
    };
    refuses([](json& d) { d["schema"] = "memopt.steps/9"; }, "schema is 'memopt.steps/9'");
    refuses([](json& d) { d["steps"][3].erase("pass"); }, "steps[3]: missing field 'pass'");
    refuses([](json& d) { d["steps"][1]["peak_rss_bytes"] = "big"; }, "steps[1]: field 'peak_rss_bytes' has the wrong type");
    refuses([](json& d) { d["steps"][1].erase("peak_rss_bytes"); }, "an accepted step needs 'peak_rss_bytes'");
    refuses([](json& d) { d["steps"][0]["accepted"] = false; }, "accepted baseline");
    refuses([](json& d) { d["steps"] = json::array(); }, "non-empty array");
    refuses([](json& d) { std::swap(d["steps"][2], d["steps"][3]); }, "increasing order");

    // Through the command line: exit 2 and one line.
    std::ofstream(file, std::ios::trunc) << good.substr(0, 200);
    const auto result = run(fmt::format("{} report {} --format html", quote(MEMOPT_BINARY), quote(file.string())));
    CHECK(result.status == 2);
    CHECK(count(result.err, "\n") == 1);
    CHECK(result.err.find("steps.json") != std::string::npos);
    std::ofstream(file, std::ios::trunc) << good;
    const auto folded = run(fmt::format("{} report {} --format folded", quote(MEMOPT_BINARY), quote(file.string())));
    CHECK(folded.status == 2);
    CHECK(folded.err.find("use text, json or html") != std::string::npos);
}

TEST_CASE("per-step report: memopt optimize on a five-line numpy script, then memopt report steps.json --format html") {
    ScratchDir dir("memopt-steps-e2e");
    std::ofstream(dir / "s.py") << "import numpy as np\n"
                                   "a = np.arange(4_000_000, dtype=np.float64)\n"
                                   "b = a.copy()\n"
                                   "c = [bytes(100) for _ in range(50_000)]\n"
                                   "print(float(b.sum()), len(c))\n";
    const auto result = run(fmt::format("cd {} && {} optimize s.py -o out --runs 1 --no-probe 2>&1 && {} report out/steps.json "
                                        "--format html -o s.html",
                                        quote(dir.path().string()), quote(MEMOPT_BINARY), quote(MEMOPT_BINARY)));
    INFO(result.out << result.err);
    REQUIRE(result.status == 0);
    CHECK(fs::exists(dir / "out/traces/baseline.trace"));
    const auto saved = json::parse(read_file(dir / "out/steps.json"));
    CHECK(saved["steps"][0]["trace"] == "traces/baseline.trace");
    std::string accepted_trace;
    for (const auto& step : saved["steps"])
        if (step["step"] != 0 && step["accepted"] == true) {
            accepted_trace = fmt::format("traces/step-{}.trace", step["step"].get<int>());
            CHECK(step["trace"] == accepted_trace);
            break;
        }
    REQUIRE(!accepted_trace.empty()); // dead-data removes the copy
    CHECK(fs::exists(dir / "out" / accepted_trace));

    const std::string page = read_file(dir / "s.html");
    const auto svgs = svg_blocks(page);
    REQUIRE(svgs.size() == 3);
    CHECK(svgs[0].find("aria-label=\"Footprint per step") != std::string::npos);
    CHECK(svgs[0].find("0 baseline") != std::string::npos);
    CHECK(svgs[1].find("aria-label=\"Resident memory over time: baseline vs step") != std::string::npos);
    CHECK(count(svgs[1], "<polyline") == 2);
    CHECK(svgs[2].find("aria-label=\"Latency per step") != std::string::npos);
    for (std::size_t i = 0; i < svgs.size(); ++i) CHECK(well_formed_xml(svgs[i], dir, fmt::format("e2e{}.svg", i)));
    CHECK(page.find(accepted_trace) != std::string::npos);
}
