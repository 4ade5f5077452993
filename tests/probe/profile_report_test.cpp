// Unit tests of reports/render/profile_report: rendering a small hand-written profile.
#include <catch2/catch.hpp>

#include "common/error.h"
#include "reports/render/profile_report.h"

using nlohmann::json;

namespace {

json sample_profile() {
    return json::parse(R"JSON({
      "schema": "memopt.profile/1", "script": "app.py", "argv": ["x"], "exit_status": 0, "duration_s": 1.5,
      "interpreter": {"executable": "/usr/bin/python3", "optimize": 0, "tracemalloc": true, "tracemalloc_frames": 16,
                      "code_tracking": true},
      "peak_rss_bytes": 100000000, "vmhwm_bytes": 110000000, "peak_traced_bytes": 60000000,
      "phases": [{"name": "load", "start_s": 0.1, "end_s": 0.5, "rss_start_bytes": 1, "peak_rss_bytes": 2,
                  "peak_traced_bytes": 3}],
      "imports": {"total": {"count": 2, "rss_bytes": 9000000, "traced_bytes": 4000000, "time_s": 0.2},
                  "tree": [{"id": 0, "name": "big", "parent": -1, "own": {"rss_bytes": 4000000, "traced_bytes": 1, "time_s": 0.1},
                            "cumulative": {"rss_bytes": 9000000, "traced_bytes": 4000000, "time_s": 0.2}},
                           {"id": 1, "name": "big.child", "parent": 0, "own": {"rss_bytes": 5000000, "traced_bytes": 1, "time_s": 0.1},
                            "cumulative": {"rss_bytes": 5000000, "traced_bytes": 1, "time_s": 0.1}}]},
      "modules": {"big": {"ran": true, "functions_run": 4}, "big.child": {"ran": false, "functions_run": 0}},
      "never_ran": [{"name": "big.child", "own_rss_bytes": 5000000, "cumulative_rss_bytes": 5000000}],
      "peak": {"time_s": 1.0, "traced_bytes": 60000000, "rss_bytes": 100000000,
               "top_lines": [{"file": "app.py", "line": 3, "code": "a = np.ones(n)", "allocated_at": "app.py:3",
                              "bytes": 50000000, "count": 1}],
               "census": {"total_objects": 10, "total_bytes": 50000000,
                          "types": [{"type": "numpy.ndarray", "count": 1, "bytes": 50000000, "deep": false}]}}
    })JSON");
}

} // namespace

TEST_CASE("render_profile text shows every section") {
    const std::string text = memopt::reports::render_profile(sample_profile(), "text");
    CHECK(text.find("app.py x") != std::string::npos);
    CHECK(text.find("load") != std::string::npos);
    CHECK(text.find("      9.0      4.0") != std::string::npos); // big: cumulative and own MB
    CHECK(text.find("  !big.child") != std::string::npos);       // indented child, never ran
    CHECK(text.find("never run: 1") != std::string::npos);
    CHECK(text.find("a = np.ones(n)") != std::string::npos);
    CHECK(text.find("numpy.ndarray") != std::string::npos);
}

TEST_CASE("render_profile json round-trips and rejects other documents") {
    const json profile = sample_profile();
    CHECK(json::parse(memopt::reports::render_profile(profile, "json")) == profile);
    CHECK_THROWS_AS(memopt::reports::render_profile(profile, "folded"), memopt::Error);
    CHECK_THROWS_AS(memopt::reports::render_profile(json{{"schema", "memopt.summary/1"}}, "text"), memopt::Error);
}
