// What the fast optimize loop rests on (docs/optimize.md, "Speed"): the screening of one run
// against one run, and the tally of program runs behind the estimate of the time left.
#include "transforms/acceptance.h"
#include "transforms/measure.h"

#include <catch2/catch.hpp>

using namespace memopt::transforms;

TEST_CASE("screening: one run against one, above the current program's spread and the minimum") {
    const std::uint64_t MB = 1000000;
    SECTION("a clear saving goes on to the measured runs") {
        const auto a = screen_saving(100 * MB, 90 * MB, {100 * MB, 101 * MB});
        CHECK(a.keep);
        CHECK(a.reason.empty());
    }
    SECTION("a saving within the current program's measured spread does not") {
        const auto a = screen_saving(100 * MB, 99 * MB, {100 * MB, 101 * MB + 500000, 100 * MB});
        CHECK_FALSE(a.keep);
        CHECK(a.needed_bytes == 1500000);
        CHECK(a.reason.find("screening run") != std::string::npos);
        CHECK(a.reason.find("measured spread, 1.5 MB") != std::string::npos);
    }
    SECTION("without measured runs only the minimum applies") {
        CHECK(screen_saving(100 * MB, 99 * MB, {}).keep);             // 1 % > 0.5 %
        CHECK_FALSE(screen_saving(100 * MB, 99800000, {}).keep);      // 0.2 % < 0.5 %
        CHECK_FALSE(screen_saving(10 * MB, 11 * MB, {}).keep);        // growth
    }
}

TEST_CASE("run tally counts the programs' runs, not memopt's helpers") {
    const RunTally before = run_tally();
    RunSpec counted;
    counted.argv = {"/bin/true"};
    run_once(counted);
    RunSpec helper = counted;
    helper.tallied = false;
    run_once(helper);
    const RunTally after = run_tally();
    CHECK(after.runs == before.runs + 1);
    CHECK(after.wall_s >= before.wall_s);
}
