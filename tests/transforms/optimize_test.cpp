// End-to-end tests of `memopt optimize` and `memopt transform`: the loop on the activity
// example and on the generality scripts of tests/scripts (small data), rejection of a
// candidate whose output differs, the threshold, the input left untouched, clear errors.
#include "tests/support/run.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using memopt::test::quote;
using memopt::test::read_file;
using memopt::test::run;
using memopt::test::ScratchDir;

namespace {

const std::string kMemopt = MEMOPT_BIN;
const std::string kSource = MEMOPT_SOURCE_DIR;
const std::string kPy = "/usr/bin/python3";

// Optimizes `script` with `args` in `dir`, then runs the original and the final program and
// requires the same stdout and the same output file.
void optimize_and_compare(const ScratchDir& dir, const std::string& script, const std::string& args,
                          const std::string& output_file, const std::string& extra = "") {
    const std::string before = read_file(script);
    const auto r = run("cd " + quote(dir.path().string()) + " && " + kMemopt + " optimize " + quote(script) +
                       " -o out --runs 1 --no-probe -q " + extra + " -- " + args);
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(read_file(script) == before); // the input is never edited
    const fs::path out = dir / "out";
    REQUIRE(fs::exists(out / "steps.json"));
    REQUIRE(fs::exists(out / "steps.md"));
    const std::string json = read_file(out / "steps.json");
    CHECK(json.find("\"schema\": \"memopt.steps/1\"") != std::string::npos);
    fs::create_directories(dir / "a");
    fs::create_directories(dir / "b");
    const auto original = run("cd " + quote((dir / "a").string()) + " && " + kPy + " " + quote(script) + " " + args);
    const auto final_run = run("cd " + quote((dir / "b").string()) + " && " + kPy + " " + quote((out / "final" / fs::path(script).filename()).string()) + " " + args);
    REQUIRE(original.status == 0);
    INFO(final_run.err);
    REQUIRE(final_run.status == 0);
    CHECK(final_run.out == original.out);
    CHECK(read_file(dir / "b" / output_file) == read_file(dir / "a" / output_file));
}

struct GeneralityData {
    ScratchDir dir{"memopt-transforms-data"};
    GeneralityData() {
        REQUIRE(run(kPy + " " + kSource + "/tests/scripts/make_data.py " + quote(dir.path().string())).status == 0);
    }
    std::string operator()(const std::string& name) const { return (dir / name).string(); }
};

const GeneralityData& data() {
    static GeneralityData d;
    return d;
}

} // namespace

TEST_CASE("optimize activity example small data") {
    ScratchDir dir("memopt-opt-activity");
    const std::string ex = kSource + "/examples/activity/";
    REQUIRE(run(kPy + " " + ex + "generate.py -o " + (dir / "rec.csv").string() + " --rows 6400").status == 0);
    REQUIRE(run(kPy + " " + ex + "train.py -o " + (dir / "model.joblib").string() +
                " --train-rows 25600 --test-rows 2560 --trees 4").status == 0);
    optimize_and_compare(dir, ex + "app.py", quote((dir / "rec.csv").string()) + " " + quote((dir / "model.joblib").string()) + " pred.csv",
                         "pred.csv");
    const std::string json = read_file(dir / "out" / "steps.json");
    for (const char* pass : {"static-to-dynamic", "dead-data", "flatten", "flags"})
        CHECK(json.find(std::string("\"pass\": \"") + pass + "\"") != std::string::npos);
    CHECK(fs::exists(dir / "out" / "step0-baseline" / "app.py"));
}

TEST_CASE("optimize generality scripts") {
    const auto& d = data();
    SECTION("kNN, numpy-only loading") {
        ScratchDir dir("memopt-opt-knn");
        optimize_and_compare(dir, kSource + "/tests/scripts/knn.py", d("train.csv") + " " + d("test.txt") + " o.txt", "o.txt");
    }
    SECTION("logistic regression, pandas I/O") {
        ScratchDir dir("memopt-opt-logreg");
        optimize_and_compare(dir, kSource + "/tests/scripts/logreg.py", d("train.csv") + " " + d("test.csv") + " o.csv", "o.csv");
    }
    SECTION("ExtraTrees from joblib") {
        ScratchDir dir("memopt-opt-extra");
        optimize_and_compare(dir, kSource + "/tests/scripts/extratrees.py", d("extra.joblib") + " " + d("test.csv") + " o.csv", "o.csv");
        CHECK(read_file(dir / "out" / "steps.json").find("\"pass\": \"static-to-dynamic\"") != std::string::npos);
    }
    SECTION("helper modules, a regression tree") {
        ScratchDir dir("memopt-opt-helpers");
        optimize_and_compare(dir, kSource + "/tests/scripts/helpers_app/app.py", d("tree_reg.joblib") + " " + d("test.txt") + " o.txt", "o.txt");
        CHECK(read_file(dir / "out" / "steps.json").find("inlined local module") != std::string::npos);
    }
}

TEST_CASE("optimize rejects a candidate whose output differs") {
    ScratchDir dir("memopt-opt-reject");
    const fs::path script = dir / "probe_modules.py";
    std::ofstream(script) << "import sys\nimport pandas as pd\nframe = pd.read_csv(sys.argv[1])\n"
                             "print(len(frame), 'pandas' in sys.modules)\n";
    std::ofstream(dir / "t.csv") << "a,b\n1,2\n3,4\n";
    const auto r = run("cd " + quote(dir.path().string()) + " && " + kMemopt + " optimize " + quote(script.string()) +
                       " -o out --runs 1 --no-probe -q --passes flatten -- t.csv");
    INFO(r.err);
    REQUIRE(r.status == 0);
    const std::string json = read_file(dir / "out" / "steps.json");
    CHECK(json.find("output differs: stdout line 1") != std::string::npos);
    CHECK(json.find("\"accepted\": false") != std::string::npos);
    CHECK(read_file(dir / "out" / "final" / "probe_modules.py") == read_file(script));
}

TEST_CASE("optimize threshold") {
    ScratchDir dir("memopt-opt-threshold");
    const fs::path script = dir / "s.py";
    std::ofstream(script) << "import json\nprint(sum(range(10)))\n";
    auto r = run(kMemopt + " optimize " + quote(script.string()) + " -o " + quote((dir / "o1").string()) +
                 " --runs 1 --no-probe -q --threshold-mb 100000");
    REQUIRE(r.status == 0);
    CHECK(read_file(dir / "o1" / "steps.json").find("static-to-dynamic") == std::string::npos);
    r = run(kMemopt + " optimize " + quote(script.string()) + " -o " + quote((dir / "o2").string()) +
            " --runs 1 --no-probe -q --passes dead-data --threshold-mb 0.5");
    CHECK(r.status == 1);
    CHECK(r.err.find("threshold") != std::string::npos);
}

TEST_CASE("optimize and transform errors") {
    ScratchDir dir("memopt-opt-errors");
    const fs::path script = dir / "crash.py";
    std::ofstream(script) << "import sys\nsys.exit(3)\n";
    auto r = run(kMemopt + " optimize " + quote(script.string()) + " -o " + quote((dir / "o").string()) + " --no-probe");
    CHECK(r.status == 2);
    CHECK(r.err.find("crash.py exited with status 3") != std::string::npos);
    r = run(kMemopt + " optimize " + quote((dir / "missing.py").string()));
    CHECK(r.status == 2);
    CHECK(r.err.find("missing.py: no such file") != std::string::npos);
    r = run(kMemopt + " transform --pass nonsense " + quote(script.string()));
    CHECK(r.status == 2);
    r = run(kMemopt + " optimize " + quote(script.string()) + " --max-candidate-runs -1");
    CHECK(r.status == 2);
    CHECK(r.err.find("--max-candidate-runs must be at least 0") != std::string::npos);
}

TEST_CASE("transform fresh directory and refusals") {
    ScratchDir dir("memopt-transform");
    const fs::path script = dir / "s.py";
    std::ofstream(script) << "import os\nimport json\nprint(json.dumps([1]))\n";
    auto r = run(kMemopt + " transform --pass dead-data " + quote(script.string()));
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out.find("removed unused import os") != std::string::npos);
    CHECK(fs::exists(dir / "s.dead-data" / "s.py"));
    r = run(kMemopt + " transform --pass dead-data " + quote(script.string()));
    REQUIRE(r.status == 0);
    CHECK(fs::exists(dir / "s.dead-data-2" / "s.py"));
    CHECK(read_file(script) == "import os\nimport json\nprint(json.dumps([1]))\n");
    r = run(kMemopt + " transform --pass static-to-dynamic " + quote(script.string()));
    REQUIRE(r.status == 0);
    CHECK(r.out.find("not applied") != std::string::npos);
    r = run(kMemopt + " transform --pass dead-data " + quote(script.string()) + " -o " + quote((dir / "s.dead-data").string()));
    CHECK(r.status == 2);
}

TEST_CASE("optimize passes the probe profile, or says why not") {
    ScratchDir dir("memopt-opt-probe");
    const fs::path script = dir / "s.py";
    // heavy is imported and used, but none of its functions runs (only a constant is read),
    // and its import holds 8 MB, well above the passes' 512 KiB noise floor on a loaded
    // machine; os is not used at all. Given an argument, the program fails when it runs under
    // the probe (where memopt's phase markers are live), so the loop has to go on without a
    // profile.
    std::ofstream(dir / "heavy.py") << "BLOB = b'x' * (8 << 20)\nSIZE = len(BLOB)\ndef never():\n    return 1\n";
    std::ofstream(script) << "import os\nimport sys\nimport json\nimport tracemalloc\nimport heavy\nassert heavy.SIZE\n"
                             "def under_probe():\n"
                             "    try:\n        import memopt\n    except ImportError:\n        return False\n"
                             "    return memopt.tracing()\n"
                             "if len(sys.argv) > 1 and not tracemalloc.is_tracing() and under_probe():\n"
                             "    sys.exit(7)\n"
                             "print(json.dumps([1, 2]))\n";
    auto r = run("cd " + quote(dir.path().string()) + " && " + kMemopt + " optimize " + quote(script.string()) +
                 " -o o1 --runs 1 --passes dead-data");
    INFO(r.err);
    REQUIRE(r.status == 0);
    std::string json = read_file(dir / "o1" / "steps.json");
    CHECK(json.find("\"profile\": \"profile.json\"") != std::string::npos);
    CHECK(json.find("probe: imported by the program, no function ran: heavy") != std::string::npos);
    CHECK(r.err.find("probe failed") == std::string::npos);
    // under the probe the program exits 7: the loop goes on without a profile
    r = run("cd " + quote(dir.path().string()) + " && " + kMemopt + " optimize " + quote(script.string()) +
            " -o o2 --runs 1 --passes dead-data -- fail-under-probe");
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(r.err.find("memopt optimize: probe failed (exit status 7); the passes use static analysis only") != std::string::npos);
    json = read_file(dir / "o2" / "steps.json");
    CHECK(json.find("\"note\": \"probe failed (exit status 7); the passes use static analysis only\"") != std::string::npos);
    CHECK(json.find("removed unused import os") != std::string::npos);
    CHECK(!fs::exists(dir / "o2" / "profile.json"));
}
