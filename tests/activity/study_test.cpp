// The study (activity_study): the pipeline on a fixture optimize output (copies of the
// baseline standing in for the passes' programs, for testing the measuring only), the output
// files, and the activity_study executable end to end with the real `memopt optimize`.
#include "examples/activity/study/study.h"
#include "reports/render/html.h"
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

TEST_CASE("study pipeline on a fixture optimize output: all files, all steps, identical predictions") {
    ScratchDir scratch("memopt-study-fixture");
    const fs::path out = scratch / "out", data = out / "data", optimized = scratch / "optimized";
    json steps = {{"schema", "memopt.steps/1"}, {"script", (kExample / "app.py").string()}, {"final", "step1-static-to-dynamic/app.py"}};
    steps["steps"] = json::array();
    int n = 0;
    for (const auto& [pass, accepted] : std::vector<std::pair<std::string, bool>>{{"baseline", true}, {"static-to-dynamic", true}, {"dead-data", false}, {"dead-data", true}}) {
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
    REQUIRE(results.steps.steps.size() == 4); // dead-data rejected in one round, accepted in the next
    CHECK(results.steps.steps[0].peak_rss_runs.size() == 2); // the study's runs, not optimize's
    CHECK(study::peak_rss_stat(results.steps.steps[0]).median > 20e6);
    CHECK(results.steps.steps[2].peak_rss_runs.empty()); // rejected: not measured
    CHECK(results.steps.steps[3].peak_rss_runs.size() == 2);
    CHECK(results.native.peak_rss_bytes.median < 10e6);
    CHECK(results.native.check.predictions_identical);
    CHECK(results.native.check.loc > 100);
    CHECK(study::check_of(results, results.steps.steps[1]).loc > 50);
    CHECK(study::check_of(results, results.steps.steps[1]).predictions == 50);
    REQUIRE(results.fig3.size() == 2);
    CHECK(!results.fig3[0].summary.timeline.empty());
    CHECK(!progress.empty());

    for (const char* file : {"results.json", "results.md", "index.html"}) CHECK(fs::exists(out / file));
    const auto saved = json::parse(read_file(out / "results.json"));
    CHECK(saved["schema"] == "memopt.study/1");
    CHECK(fs::exists(out / "traces/baseline.html"));
    CHECK(fs::exists(out / "traces/static-to-dynamic.html"));
    REQUIRE(saved["steps"].size() == 3); // each step once
    CHECK(saved["steps"][2]["step"] == 3);
    CHECK(saved["steps"][2]["predictions"] == 50);
    CHECK(saved["predictions_identical"] == true);
    CHECK(saved["paper"]["footprint_mb"]["flags"] == 92.8);
    const std::string md = read_file(out / "results.md");
    for (const char* text : {"1. static baseline", "2. static to dynamic", "3. useless data removed", "Table I", "258", "92.8"})
        CHECK(md.find(text) != std::string::npos);
    const std::string html = read_file(out / "index.html");
    CHECK(html.find("fixture &lt;copy&gt;") != std::string::npos);
    const auto svgs = svg_blocks(html);
    REQUIRE(svgs.size() == 3); // Fig. 2, 3, 4
    CHECK(svgs[0].find(">3. useless</text>") != std::string::npos); // the label, on two lines
    CHECK(svgs[0].find("(rejected)") == std::string::npos);
    CHECK(svgs[0].find(">paper</text>") != std::string::npos);
    for (std::size_t i = 0; i < svgs.size(); ++i) CHECK(well_formed_xml(svgs[i], scratch, fmt::format("fig{}.svg", i)));

    // A second study into the same directory needs --force.
    CHECK_THROWS_WITH(study::run_study(options, [](const std::string&) {}), Catch::Contains("not empty"));
}

TEST_CASE("activity_study end to end (small), with the real memopt optimize") {
    ScratchDir scratch("memopt-study-e2e");
    const fs::path out = scratch / "out";
    const auto result = run(fmt::format("{} -o {} --rows 6400 --train-rows 20000 --trees 3 --repeat 1", quote(ACTIVITY_STUDY),
                                        quote(out.string())));
    INFO(result.out << result.err);
    REQUIRE(result.status == 0);
    CHECK(result.err.find("activity_study: measure") != std::string::npos); // progress
    for (const char* file : {"results.json", "results.md", "index.html"}) CHECK(fs::exists(out / file));
    const auto saved = json::parse(read_file(out / "results.json"));
    CHECK(saved["predictions_identical"] == true);
    std::vector<std::string> passes;
    for (const auto& step : saved["steps"]) passes.push_back(step["pass"]);
    CHECK(passes.front() == "baseline");
    // Each pass once, except one accepted again in a later round (flags finding one more
    // option): a rejected pass is never also shown accepted, nor twice.
    for (const std::string pass : {"static-to-dynamic", "dead-data", "flatten", "flags"}) {
        int accepted = 0, rejected = 0;
        for (const auto& step : saved["steps"])
            if (step["pass"] == pass) ++(step["accepted"] == true ? accepted : rejected);
        INFO(pass);
        CHECK(accepted + rejected >= 1);
        CHECK(rejected <= (accepted ? 0 : 1));
    }
    // optimize recorded its own two traces; the per-step report of its steps.json draws them.
    const auto report = run(fmt::format("{} report {} --format text", quote(MEMOPT_BINARY), quote((out / "optimize/steps.json").string())));
    CHECK(report.status == 0);
    CHECK(report.out.find("traces/baseline.trace") != std::string::npos);
    // The study's page in a real browser (when chromium is installed).
    if (run("command -v chromium >/dev/null").status == 0) {
        const auto browser = run(fmt::format("{} --study {}", quote(std::string(MEMOPT_SOURCE_DIR) + "/tests/reports/browser_check.sh"),
                                             quote(out.string())));
        INFO(browser.out << browser.err);
        CHECK(browser.status == 0);
    }
    // bad options: one line, exit 2
    const auto bad = run(fmt::format("{} --rows 5 -o {}", quote(ACTIVITY_STUDY), quote((scratch / "x").string())));
    CHECK(bad.status == 2);
    CHECK(bad.err == "activity_study: --rows must be at least 128 (one block)\n");
}
