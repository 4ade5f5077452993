// `memopt optimize` leaves output a reviewer can read: each step's changes.diff, the final
// program's diff against the script, the user's comments kept in the rewritten program.
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
}

TEST_CASE("optimize writes a diff per step and for the final program, comments kept") {
    ScratchDir dir("memopt-opt-diffs");
    const fs::path script = dir / "s.py";
    // pandas is imported and never used: dead-data removes it (tens of MB, well above the noise)
    const std::string source = "# Counts to ten.\nimport json\nimport pandas  # not needed\n\n"
                               "# the result\nprint(json.dumps(list(range(10))))  # shown\n";
    std::ofstream(script) << source;
    const auto r = run("cd " + quote(dir.path().string()) + " && " + kMemopt + " optimize " + quote(script.string()) +
                       " -o out --runs 1 --no-probe -q --passes dead-data");
    INFO(r.err);
    REQUIRE(r.status == 0);
    const fs::path out = dir / "out";
    const std::string expected = "# Counts to ten.\nimport json\n\n# the result\nprint(json.dumps(list(range(10))))  # shown\n";
    CHECK(read_file(out / "step1-dead-data" / "s.py") == expected);
    const std::string step_diff = read_file(out / "step1-dead-data" / "changes.diff");
    CHECK(step_diff.rfind("--- a/s.py\n+++ b/s.py\n", 0) == 0);
    CHECK(step_diff.find("\n-import pandas  # not needed\n") != std::string::npos);
    CHECK(!fs::exists(out / "step0-baseline" / "changes.diff"));
    const std::string json = read_file(out / "steps.json");
    INFO(json);
    REQUIRE(json.find("\"accepted\": true,\n      \"changes\": [\n        \"removed unused import pandas") != std::string::npos);
    CHECK(json.find("\"diff\": \"step1-dead-data/changes.diff\"") != std::string::npos);
    CHECK(json.find("\"final_diff\": \"final/changes.diff\"") != std::string::npos);
    CHECK(read_file(out / "final" / "changes.diff") == step_diff); // one step: the same change
    CHECK(read_file(out / "steps.md").find("`final/changes.diff`") != std::string::npos);
    CHECK(read_file(script) == source);
}
