// A gate baseline records how it is compared (reports/gate/baseline.h): metric, tolerance and
// command are saved with the summary and used by a later `gate --baseline` unless the
// command line says otherwise; summaries without them still work as baselines.
#include "common/error.h"
#include "reports/analysis/summary_json.h"
#include "reports/gate/baseline.h"
#include "tests/support/run.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <fstream>

using namespace memopt::reports;
using memopt::test::quote;
using memopt::test::read_file;
using memopt::test::run;
using memopt::test::ScratchDir;

namespace {

const std::string kMemopt = MEMOPT_BINARY;
const std::string kWorkload = GATE_WORKLOAD_BINARY;
constexpr std::uint64_t kMiB = 1 << 20;

GateBaseline baseline_with(std::optional<GateSettings> settings) {
    GateBaseline b;
    b.summary.command = {"prog"};
    b.summary.peak_heap_bytes = 50 * kMiB;
    b.summary.peak_rss_bytes = 80 * kMiB;
    b.settings = std::move(settings);
    return b;
}

bool any_note_has(const std::vector<std::string>& notes, const std::string& text) {
    for (const auto& note : notes)
        if (note.find(text) != std::string::npos) return true;
    return false;
}

} // namespace

TEST_CASE("gate baseline: its recorded metric and tolerance apply when the command line says nothing") {
    const auto base = baseline_with(GateSettings{GateMetric::kPeakHeap, 20, {"prog", "x"}});
    const auto r = limit_from_gate_baseline(base, {}, {"prog", "x"}, "b.json");
    CHECK(r.limit.metric == GateMetric::kPeakHeap);
    CHECK(r.limit.limit_bytes == 60 * kMiB); // 50 MiB + 20 %
    CHECK(r.notes.empty());
    CHECK(r.settings.metric == GateMetric::kPeakHeap); // what --save would record again
    CHECK(r.settings.tolerance_percent == 20);
}

TEST_CASE("gate baseline: an explicit --metric or --tolerance wins, with a note saying so") {
    const auto base = baseline_with(GateSettings{GateMetric::kPeakHeap, 20, {"prog"}});
    const auto r = limit_from_gate_baseline(base, {GateMetric::kPeakRss, 5.0}, {"prog"}, "b.json");
    CHECK(r.limit.metric == GateMetric::kPeakRss);
    CHECK(r.limit.limit_bytes == 84 * kMiB); // 80 MiB + 5 %
    REQUIRE(r.notes.size() == 2);
    CHECK(any_note_has(r.notes, "comparing peak_rss as --metric says; baseline b.json was saved for peak_heap"));
    CHECK(any_note_has(r.notes, "tolerance 5% as --tolerance says"));
    // The same values as recorded: nothing to say.
    CHECK(limit_from_gate_baseline(base, {GateMetric::kPeakHeap, 20.0}, {"prog"}, "b.json").notes.empty());
}

TEST_CASE("gate baseline: a summary without settings compares peak_rss with 10 %, and says so") {
    const auto r = limit_from_gate_baseline(baseline_with(std::nullopt), {}, {"prog"}, "old.json");
    CHECK(r.limit.metric == GateMetric::kPeakRss);
    CHECK(r.limit.limit_bytes == 88 * kMiB);
    REQUIRE(r.notes.size() == 1);
    CHECK(r.notes[0].find("old.json records no metric") != std::string::npos);
    // With --metric given there is nothing to guess.
    CHECK(limit_from_gate_baseline(baseline_with(std::nullopt), {GateMetric::kPeakHeap, {}}, {"prog"}, "old.json")
              .notes.empty());
}

TEST_CASE("gate baseline: another command is noted, never run") {
    const auto base = baseline_with(GateSettings{GateMetric::kPeakHeap, 10, {"sh", "-c", "touch pwned"}});
    const auto r = limit_from_gate_baseline(base, {}, {"prog"}, "b.json");
    REQUIRE(r.notes.size() == 1);
    CHECK(r.notes[0] == "baseline b.json was saved for `sh -c touch pwned`, this run is `prog`");
    CHECK(r.settings.command == std::vector<std::string>{"prog"});
}

TEST_CASE("gate baseline: settings round-trip through the file, bad ones are refused naming the field") {
    ScratchDir dir("gate-baseline-file");
    Summary s = baseline_with(std::nullopt).summary;
    save_gate_baseline(s, {GateMetric::kPeakHeap, 2.5, {"python3", "x.py", "\xff"}}, dir / "b.json", false);
    const auto back = read_gate_baseline(dir / "b.json");
    REQUIRE(back.settings);
    CHECK(back.settings->metric == GateMetric::kPeakHeap);
    CHECK(back.settings->tolerance_percent == 2.5);
    CHECK(back.settings->command == std::vector<std::string>{"python3", "x.py", "\xEF\xBF\xBD"});
    CHECK(back.summary.peak_heap_bytes == 50 * kMiB);
    CHECK(read_summary_file(dir / "b.json").peak_rss_bytes == 80 * kMiB); // still a summary
    CHECK_THROWS_WITH(save_gate_baseline(s, {}, dir / "b.json", false), Catch::Contains("--force"));

    auto bad = [&](const nlohmann::json& gate, const std::string& field) {
        auto document = summary_to_json(s);
        document["gate"] = gate;
        std::ofstream(dir / "bad.json") << document.dump();
        CHECK_THROWS_WITH(read_gate_baseline(dir / "bad.json"), Catch::Contains(field) && Catch::Contains("bad.json"));
    };
    bad(nlohmann::json::array(), "'gate'");
    bad({{"tolerance_percent", 5}}, "gate.metric");
    bad({{"metric", "peak_vms"}}, "peak_vms");
    bad({{"metric", 3}}, "gate.metric");
    bad({{"metric", "peak_rss"}, {"tolerance_percent", -1}}, "gate.tolerance_percent");
    bad({{"metric", "peak_rss"}, {"tolerance_percent", "5"}}, "gate.tolerance_percent");
    bad({{"metric", "peak_rss"}, {"command", {1, 2}}}, "gate.command");
    bad({{"metric", "peak_rss"}, {"command", "ls"}}, "gate.command");
}

TEST_CASE("memopt gate: --metric peak_heap --save, then --baseline alone compares peak_heap (issue 16)") {
    ScratchDir dir("gate-baseline-metric");
    const std::string base = quote((dir / "base.json").string());
    REQUIRE(run(fmt::format("{} gate --metric peak_heap --tolerance 40 --save {} -- {} 20", kMemopt, base, kWorkload))
                .status == 0);
    const auto saved = nlohmann::json::parse(read_file(dir / "base.json"));
    CHECK(saved["gate"]["metric"] == "peak_heap");
    CHECK(saved["gate"]["tolerance_percent"] == 40);
    CHECK(saved["gate"]["command"] == nlohmann::json({kWorkload, "20"}));

    // 26 MiB of heap is within 20 MiB + 40 %; its RSS would be too, so 30 MiB is the proof:
    // over the heap limit (28 MiB) by the recorded metric and tolerance.
    const auto within = run(fmt::format("{} gate --baseline {} -- {} 26", kMemopt, base, kWorkload));
    CHECK(within.status == 0);
    CHECK(within.err.find("PASS peak_heap") != std::string::npos);
    CHECK(within.err.find("+40%") != std::string::npos);
    CHECK(within.err.find("note: comparing") == std::string::npos); // the recorded metric: nothing to say
    CHECK(within.err.find("was saved for `" + kWorkload + " 20`, this run is `" + kWorkload + " 26`") != std::string::npos);
    const auto over = run(fmt::format("{} gate --baseline {} -- {} 30", kMemopt, base, kWorkload));
    CHECK(over.status == 1);
    CHECK(over.err.find("FAIL peak_heap") != std::string::npos);

    // An explicit metric wins and says so; another command is noted.
    const auto rss = run(fmt::format("{} gate --baseline {} --metric peak_rss -- {} 2", kMemopt, base, kWorkload));
    CHECK(rss.err.find("PASS peak_rss") != std::string::npos);
    CHECK(rss.err.find("memopt gate: note: comparing peak_rss as --metric says") != std::string::npos);
    CHECK(rss.err.find("this run is `" + kWorkload + " 2`") != std::string::npos);
}

TEST_CASE("memopt gate: a summary from report --format json is still a baseline (peak_rss, with a note)") {
    ScratchDir dir("gate-baseline-old");
    const std::string trace = quote((dir / "t.trace").string());
    REQUIRE(run(fmt::format("{} record -q -o {} -- {} 20", kMemopt, trace, kWorkload)).status == 0);
    REQUIRE(run(fmt::format("{} report {} --format json -o {}", kMemopt, trace, quote((dir / "old.json").string())))
                .status == 0);
    const auto r = run(fmt::format("{} gate --baseline {} -- {} 20", kMemopt, quote((dir / "old.json").string()), kWorkload));
    CHECK(r.status == 0);
    CHECK(r.err.find("records no metric") != std::string::npos);
    CHECK(r.err.find("PASS peak_rss") != std::string::npos);
}
