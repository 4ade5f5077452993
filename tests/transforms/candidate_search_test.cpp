// The candidate-subset search (transforms/candidate_search.h), driven by a fake check: a
// subset fails when it holds a "bad" candidate or both of a conflicting pair.
#include "transforms/candidate_search.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <set>

using namespace memopt::transforms;

namespace {

std::vector<PassCandidate> candidates(int n) {
    std::vector<PassCandidate> list;
    for (int i = 0; i < n; ++i)
        list.push_back({std::string(1, static_cast<char>('a' + i)), static_cast<std::uint64_t>(1000 - i), "edit"});
    return list;
}

struct FakeCheck {
    std::set<std::string> bad;
    std::vector<std::pair<std::string, std::string>> conflicts;
    std::vector<std::vector<std::string>> tried;

    std::string operator()(const std::vector<std::string>& ids) {
        tried.push_back(ids);
        const auto has = [&](const std::string& id) { return std::find(ids.begin(), ids.end(), id) != ids.end(); };
        for (const auto& id : bad)
            if (has(id)) return "output differs because of " + id;
        for (const auto& [x, y] : conflicts)
            if (has(x) && has(y)) return "output differs because of " + x + "+" + y;
        return "";
    }
};

SubsetSearch run_search(FakeCheck& check, int n, int max_runs = 24) {
    return search_passing_subset(candidates(n), "all fail", [&](const std::vector<std::string>& ids) { return check(ids); },
                                 max_runs);
}

int bound(int k, int n) { return 2 * k * static_cast<int>(std::ceil(std::log2(n))) + 2; }

} // namespace

TEST_CASE("candidate search drops the one failing candidate and keeps the rest") {
    FakeCheck check{{"c"}, {}, {}};
    const SubsetSearch s = run_search(check, 8);
    CHECK(s.kept == std::vector<std::string>{"a", "b", "d", "e", "f", "g", "h"});
    CHECK_FALSE(s.capped);
    CHECK(s.tries == static_cast<int>(check.tried.size()));
    CHECK(s.tries <= bound(1, 8));
    REQUIRE(s.verdicts.size() == 8);
    CHECK_FALSE(s.verdicts[2].kept);
    CHECK(s.verdicts[2].reason.find("because of c") != std::string::npos);
    CHECK(s.verdicts[0].kept);
    CHECK(s.verdicts[0].reason.empty());
    for (const auto& ids : check.tried) CHECK(ids.size() < 8); // the whole set is never tried again
}

TEST_CASE("candidate search keeps the larger saving of a conflicting pair") {
    FakeCheck check{{}, {{"b", "f"}}, {}};
    const SubsetSearch s = run_search(check, 6);
    CHECK(s.kept == std::vector<std::string>{"a", "b", "c", "d", "e"});
    CHECK(s.verdicts[5].reason.find("fails with the") != std::string::npos);
    CHECK(s.tries <= bound(1, 6));
}

TEST_CASE("candidate search: every candidate fails, several fail, one candidate") {
    SECTION("all fail") {
        FakeCheck check{{"a", "b", "c", "d", "e"}, {}, {}};
        const SubsetSearch s = run_search(check, 5);
        CHECK(s.kept.empty());
        CHECK(s.tries <= bound(5, 5));
        for (const auto& v : s.verdicts) CHECK(v.reason.find("fails alone") != std::string::npos);
    }
    SECTION("two of sixteen fail") {
        FakeCheck check{{"b", "n"}, {}, {}};
        const SubsetSearch s = run_search(check, 16);
        CHECK(s.kept.size() == 14);
        CHECK(std::find(s.kept.begin(), s.kept.end(), "n") == s.kept.end());
        CHECK(s.tries <= bound(2, 16));
    }
    SECTION("a single candidate that fails is dropped without a try") {
        FakeCheck check{{"a"}, {}, {}};
        const SubsetSearch s = run_search(check, 1);
        CHECK(s.kept.empty());
        CHECK(s.tries == 0);
        CHECK(s.verdicts[0].reason == "fails alone: all fail");
    }
    SECTION("no candidates") {
        FakeCheck check;
        CHECK(run_search(check, 0).verdicts.empty());
    }
}

TEST_CASE("candidate search stops at its cap and says which were not tried") {
    FakeCheck check{{"a", "c", "e", "g"}, {}, {}};
    const SubsetSearch s = run_search(check, 8, 3);
    CHECK(s.capped);
    CHECK(s.tries == 3);
    CHECK(check.tried.size() == 3);
    const auto not_tried = std::count_if(s.verdicts.begin(), s.verdicts.end(), [](const CandidateVerdict& v) {
        return v.reason.find("cap of 3 check runs") != std::string::npos;
    });
    CHECK(not_tried > 0);
    for (const auto& v : s.verdicts) CHECK((v.kept || !v.reason.empty())); // every candidate has a verdict
}
