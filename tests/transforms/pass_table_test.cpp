// The pass table: the C++ side reads python/memopt/transforms/__init__.py's PASSES and
// keeps no list of its own; the CLI's --help, its errors and docs/optimize.md show exactly
// that table; a malformed table is refused in one line.
#include "common/error.h"
#include "tests/support/run.h"
#include "transforms/pass_table.h"

#include <catch2/catch.hpp>
#include <filesystem>

namespace fs = std::filesystem;
using memopt::test::read_file;
using memopt::test::run;
using namespace memopt::transforms;

namespace {

const std::string kMemopt = MEMOPT_BIN;
const std::string kSource = MEMOPT_SOURCE_DIR;

std::string refusal(const std::string& table_json) {
    try {
        parse_pass_table(table_json);
    } catch (const memopt::Error& e) {
        return e.what();
    }
    return "";
}

} // namespace

TEST_CASE("pass table: read from the Python package, in the paper's order") {
    const std::vector<PassInfo>& table = pass_table();
    // the passes `memopt transform --pass ...` offers, in the paper's order, and
    // lazy-imports (step 3 like dead-data: useless imported modules)
    REQUIRE(pass_names() == std::vector<std::string>{"static-to-dynamic", "lazy-imports", "dead-data", "flatten", "flags"});
    for (std::size_t i = 0; i < table.size(); ++i) {
        INFO(table[i].name);
        CHECK(fs::is_regular_file(kSource + "/python/memopt/transforms/" + table[i].module + ".py"));
        CHECK(!table[i].summary.empty());
        if (i > 0) CHECK(table[i].paper_step >= table[i - 1].paper_step);
    }
    CHECK(find_pass("flags").kind == PassKind::Launcher);
    CHECK(find_pass("dead-data").kind == PassKind::Rewrite);
    CHECK(&pass_table() == &table); // read once
}

TEST_CASE("pass table: an unknown name is refused, naming the known passes") {
    try {
        find_pass("nonsense");
        FAIL("no error");
    } catch (const memopt::Error& e) {
        CHECK(std::string(e.what()) == "unknown pass 'nonsense' (" + pass_name_list() + ")");
    }
}

TEST_CASE("pass table: a malformed table is refused in one line") {
    const std::string good = R"({"name": "a", "step": 2, "kind": "rewrite", "module": "a", "summary": "s"})";
    CHECK(refusal("[" + good + "]").empty());
    CHECK(refusal("not json").find("not JSON") != std::string::npos);
    CHECK(refusal("[]").find("not a list of passes") != std::string::npos);
    CHECK(refusal(R"([{"name": "a", "step": 2, "kind": "rewrite", "summary": "s"}])").find("no \"module\"") != std::string::npos);
    CHECK(refusal(R"([{"name": "a", "step": "2", "kind": "rewrite", "module": "a", "summary": "s"}])").find("integer") !=
          std::string::npos);
    CHECK(refusal(R"([{"name": "a", "step": 2, "kind": "magic", "module": "a", "summary": "s"}])").find("unknown kind 'magic'") !=
          std::string::npos);
    CHECK(refusal("[" + good + "," + good + "]").find("pass a is declared twice") != std::string::npos);
    for (const char* bad : {"not json", "[]", "[1]", R"([{"name": 3}])"}) CHECK(refusal(bad).find('\n') == std::string::npos);
}

TEST_CASE("pass table: transform and optimize --help list every pass of the table") {
    for (const char* command : {"transform", "optimize"}) {
        const auto r = run(kMemopt + " " + command + " --help");
        INFO(command << ": " << r.err);
        REQUIRE(r.status == 0);
        for (const PassInfo& p : pass_table()) {
            CHECK(r.out.find(p.name) != std::string::npos);
            CHECK(r.out.find(p.summary) != std::string::npos);
        }
    }
    const auto r = run(kMemopt + " transform --pass nonsense " + kSource + "/tests/scripts/knn.py");
    CHECK(r.status == 2);
    CHECK(r.err == "memopt transform: unknown pass 'nonsense' (" + pass_name_list() + ")\n");
    const auto o = run(kMemopt + " optimize " + kSource + "/tests/scripts/knn.py --passes dead-data,nonsense");
    CHECK(o.status == 2);
    CHECK(o.err.find("--passes: unknown pass 'nonsense'") != std::string::npos);
}

TEST_CASE("pass table: docs/optimize.md lists the table's passes") {
    const std::string doc = read_file(kSource + "/docs/optimize.md");
    for (const PassInfo& p : pass_table()) {
        INFO(p.name);
        CHECK(doc.find("| `" + p.name + "` | " + std::to_string(p.paper_step) + " |") != std::string::npos);
    }
}
