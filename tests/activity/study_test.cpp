// The study: steps.json parsing, the pipeline on a fixture optimize output (copies of the
// baseline standing in for the passes' programs, for testing the measuring only), the output
// files, and `memopt study` end to end with the real `memopt optimize`.
#include "reports/render/html.h"
#include "examples/activity/study/steps.h"
#include "examples/activity/study/study.h"
#include "tests/reports/common.h"

#include <nlohmann/json.hpp>

using namespace memopt;
using namespace memopt::test;
namespace study = memopt::reports::study;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path kExample = fs::path(MEMOPT_SOURCE_DIR) / "examples/activity";

json fixture_step(int n, const std::string& pass, bool accepted, const fs::path& dir, const fs::path& data) {
    json step = {{"step", n}, {"pass", pass}, {"dir", dir.filename().string()}, {"program", dir.filename().string() + "/app.py"},
                 {"accepted", accepted}, {"reason", accepted ? "" : "fixture: rejected"}, {"changes", {"fixture <copy>"}},
                 {"cwd", dir.string()}, {"peak_rss_bytes", 1}, {"wall_s", 1.0}};
    step["command"] = {"/usr/bin/python3", "app.py", (data / "recording.csv").string(), (data / "model.joblib").string(),
                       "predictions.csv"};
    return step;
}

} // namespace

TEST_CASE("steps.json: the contract with memopt optimize") {
    const fs::path dir = "/opt/x";
    json good = {{"schema", "memopt.steps/1"}, {"script", "/a/app.py"}, {"args", {"r.csv"}}, {"final", "final/app.py"},
                 {"steps", {{{"step", 0}, {"pass", "baseline"}, {"accepted", true}, {"command", {"python3", "app.py"}},
                             {"cwd", nullptr}, {"dir", "step0-baseline"}},
                            {{"step", 1}, {"pass", "flags"}, {"accepted", false}, {"reason", "no gain"}}}}};
    const auto steps = study::parse_steps(good, dir);
    REQUIRE(steps.steps.size() == 2);
    CHECK(steps.steps[0].cwd.empty());
    CHECK(steps.steps[1].reason == "no gain");
    json bad = good;
    bad["schema"] = "memopt.steps/9";
    CHECK_THROWS_WITH(study::parse_steps(bad, dir), Catch::Contains("schema"));
    bad = good;
    bad["steps"][0].erase("pass");
    CHECK_THROWS_WITH(study::parse_steps(bad, dir), Catch::Contains("steps[0]: missing field 'pass'"));
    bad = good;
    bad["steps"][0]["accepted"] = false;
    CHECK_THROWS_WITH(study::parse_steps(bad, dir), Catch::Contains("accepted baseline"));
}

TEST_CASE("study pipeline on a fixture optimize output: all files, all steps, identical predictions") {
    ScratchDir scratch("memopt-study-fixture");
    const fs::path out = scratch / "out", data = out / "data", optimized = scratch / "optimized";
    json steps = {{"schema", "memopt.steps/1"}, {"script", (kExample / "app.py").string()}, {"final", "step1-static-to-dynamic/app.py"}};
    steps["steps"] = json::array();
    int n = 0;
    for (const auto& [pass, accepted] : std::vector<std::pair<std::string, bool>>{{"baseline", true}, {"static-to-dynamic", true}, {"dead-data", false}}) {
        const fs::path dir = optimized / fmt::format("step{}-{}", n, pass);
        fs::create_directories(dir);
        fs::copy_file(kExample / "app.py", dir / "app.py");
        steps["steps"].push_back(fixture_step(n++, pass, accepted, dir, data));
    }
    std::ofstream(optimized / "steps.json") << steps.dump(2);

    // The recording comes in the UCI layout (no header, UCI labels 0..7): the study converts it.
    const fs::path uci = scratch / "uci.csv";
    REQUIRE(run(fmt::format("/usr/bin/python3 {} -o {} --rows 6400 --seed 5 && /usr/bin/python3 -c "
                            "'import sys; rows = open(sys.argv[1]).read().split()[1:]; "
                            "open(sys.argv[2], \"w\").write(\"\\n\".join(r.rsplit(\",\", 1)[0] + \",\" + str(i % 8) "
                            "for i, r in enumerate(rows)) + \"\\n\")' {} {}",
                            quote((kExample / "generate.py").string()), quote((scratch / "ours.csv").string()),
                            quote((scratch / "ours.csv").string()), quote(uci.string())))
                .status == 0);
    study::StudyOptions options;
    options.out_dir = out;
    options.data_csv = uci;
    options.train_rows = 20000;
    options.trees = 3;
    options.repeat = 2;
    options.optimized_dir = optimized;
    options.memopt = MEMOPT_BINARY;
    options.example_dir = kExample;
    options.native = ACTIVITY_PREDICT;
    std::vector<std::string> progress;
    const auto results = study::run_study(options, [&](const std::string& line) { progress.push_back(line); });

    CHECK(results.predictions_identical);
    CHECK(results.blocks == 50);
    CHECK(results.data_source.find("UCI layout") != std::string::npos);
    CHECK(read_file(out / "data/recording.csv").rfind("seq,x,y,z,label\n", 0) == 0);
    REQUIRE(results.steps.size() == 3);
    CHECK(results.steps[0].peak_rss_bytes.runs.size() == 2);
    CHECK(results.steps[0].peak_rss_bytes.median > 20e6);
    CHECK(results.steps[2].peak_rss_bytes.runs.empty()); // rejected: not measured
    CHECK(results.native.peak_rss_bytes.median < 10e6);
    CHECK(results.native.predictions_identical);
    CHECK(results.native_loc > 100);
    CHECK(results.steps[1].loc > 50);
    REQUIRE(results.fig3.size() == 2);
    CHECK(!results.fig3[0].points.empty());
    CHECK(!progress.empty());

    for (const char* file : {"results.json", "results.md", "index.html"}) CHECK(fs::exists(out / file));
    const auto saved = json::parse(read_file(out / "results.json"));
    CHECK(saved["schema"] == "memopt.study/1");
    CHECK(fs::exists(out / "traces/baseline.html"));
    CHECK(fs::exists(out / "traces/static-to-dynamic.html"));
    CHECK(saved["steps"].size() == 3);
    CHECK(saved["predictions_identical"] == true);
    CHECK(saved["paper"]["footprint_mb"]["flags"] == 92.8);
    const std::string md = read_file(out / "results.md");
    for (const char* text : {"1. static baseline", "2. static to dynamic", "3. useless data removed", "Table I", "258", "92.8"})
        CHECK(md.find(text) != std::string::npos);
    const std::string html = read_file(out / "index.html");
    CHECK(html.find("fixture &lt;copy&gt;") != std::string::npos);
    const auto svgs = svg_blocks(html);
    CHECK(svgs.size() == 3); // Fig. 2, 3, 4
    for (std::size_t i = 0; i < svgs.size(); ++i) CHECK(well_formed_xml(svgs[i], scratch, fmt::format("fig{}.svg", i)));

    // A second study into the same directory needs --force.
    CHECK_THROWS_WITH(study::run_study(options, [](const std::string&) {}), Catch::Contains("not empty"));
}

TEST_CASE("memopt study end to end (small), with the real memopt optimize") {
    ScratchDir scratch("memopt-study-e2e");
    const fs::path out = scratch / "out";
    const bool optimize_available = run(fmt::format("{} optimize --help", quote(MEMOPT_BINARY))).status == 0;
    const auto result = run(fmt::format("{} study -o {} --rows 6400 --train-rows 20000 --trees 3 --repeat 1",
                                        quote(MEMOPT_BINARY), quote(out.string())));
    INFO(result.out << result.err);
    if (!optimize_available) {
        CHECK(result.status == 2);
        CHECK(result.err.find("memopt optimize is unavailable") != std::string::npos);
        CHECK(!fs::exists(out / "index.html"));
        return;
    }
    REQUIRE(result.status == 0);
    CHECK(result.err.find("memopt study: measure") != std::string::npos); // progress
    for (const char* file : {"results.json", "results.md", "index.html"}) CHECK(fs::exists(out / file));
    const auto saved = json::parse(read_file(out / "results.json"));
    CHECK(saved["predictions_identical"] == true);
    std::vector<std::string> passes;
    for (const auto& step : saved["steps"]) passes.push_back(step["pass"]);
    CHECK(passes.front() == "baseline");
    for (const char* pass : {"static-to-dynamic", "dead-data", "flatten", "flags"})
        CHECK(std::find(passes.begin(), passes.end(), pass) != passes.end());
    // The study's page in a real browser (when chromium is installed).
    if (run("command -v chromium >/dev/null").status == 0) {
        const auto browser = run(fmt::format("{} --study {}", quote(std::string(MEMOPT_SOURCE_DIR) + "/tests/reports/browser_check.sh"),
                                             quote(out.string())));
        INFO(browser.out << browser.err);
        CHECK(browser.status == 0);
    }
}
