// Timings masked in the comparison of outputs (transforms/timings.h): what is a timing and
// what is not, and that references differing only in timings are compared with them masked.
#include "transforms/outputs.h"
#include "transforms/timings.h"

#include <catch2/catch.hpp>

using namespace memopt::transforms;

TEST_CASE("timings: numbers with a time unit, and every number of a line about time, are masked") {
    CHECK(mask_timings("done in 0.269s.") == "donein#.");
    CHECK(mask_timings("ward :\t0.16s") == "ward :\t#");
    CHECK(mask_timings("Time for KernelRidge fitting: 13.353 seconds") == "TimeforKernelRidgefitting:#");
    CHECK(mask_timings("fit 2.5e-3 ms then 4 min") == "fit # then #");
    CHECK(mask_timings("mean_score_time      0.0") == mask_timings("mean_score_time       0."));
    // not timings: the rest must still match byte for byte
    CHECK(mask_timings("Accuracy: 82.7%") == "Accuracy: 82.7%");
    CHECK(mask_timings("3 samples, 10 classes") == "3 samples, 10 classes");
    CHECK(mask_timings("x1s 12s3") == "x1s 12s3");
    CHECK(mask_timings("line 1\nline 2: 0.5s\n") == "line 1\nline 2: #\n");
}

namespace {
Observation printed(const std::string& text, const std::string& sha) {
    Observation o;
    o.status = 0;
    o.out.head = text;
    o.out.size = text.size();
    o.out.sha256 = sha;
    return o;
}
} // namespace

TEST_CASE("timings: references that differ only in timings compare the rest exactly") {
    std::vector<Observation> refs{printed("acc 0.91\ndone in 0.27s\n", "a"), printed("acc 0.91\ndone in 0.31s\n", "b")};
    CHECK(!variation(refs, false).empty());
    REQUIRE(mark_varying_timings(refs));
    CHECK(variation(refs, false).empty());
    CHECK(difference(refs[0], printed("acc 0.91\ndone in 0.12s\n", "c"), false).empty());
    CHECK(!difference(refs[0], printed("acc 0.92\ndone in 0.12s\n", "d"), false).empty()); // a result changed
    CHECK(!difference(refs[0], printed("acc 0.91\n", "e"), false).empty());

    std::vector<Observation> results{printed("acc 0.91\n", "a"), printed("acc 0.93\n", "b")};
    CHECK(!mark_varying_timings(results)); // a result varies: nothing is masked, the program varies
    CHECK(!variation(results, false).empty());
}
