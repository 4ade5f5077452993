// `memopt report --phase NAME` and the trace it cuts out (reports/analysis/phase_window.h,
// profiler/trace/trace_rewriter.h): only the phase's own allocations, its own peak, a valid
// trace that the reader verifies.
#include "common/error.h"
#include "reports/analysis/phase_window.h"
#include "reports/analysis/summary.h"
#include "tests/reports/common.h"
#include "tests/trace/trace_bytes.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace memopt;
using namespace memopt::trace;
using namespace memopt::test;
using memopt::trace::test::write_bytes;
using memopt::trace::test::write_trace;
using memopt::trace::test::ReadBack;
using memopt::trace::test::read_all;

namespace {

const std::string kMemopt = MEMOPT_BINARY;

ChunkBuilder& phase(ChunkBuilder& chunk, ExtendedType type, std::uint64_t time_ns, const std::string& name) {
    return chunk.extended(type).varint(time_ns).text(name);
}

// Phase "load" allocates 10 MB (block A, kept) and 4 MB (block B, freed inside it); phase
// "fit" allocates 1 MB (block C, sampled at stack 2 -> 1) and 3 MB (D), frees A (made before
// it) and D, and leaves C. Stacks are on: frames 1 (outer) and 2 (inner).
void write_two_phases(const std::filesystem::path& path) {
    ChunkBuilder start(1, 0);
    start.extended(ExtendedType::kProcessStart).varint(100).varint(1).varint(1000).byte(0).varint(4096).varint(1);
    ChunkBuilder events(1, 0);
    phase(events, ExtendedType::kPhaseBegin, 2000, "load");                 // seq 0
    events.extended(ExtendedType::kStackRef).varint(1).event(RecordKind::kMalloc, 0x10000, 10'000'000); // 1: A
    events.event(RecordKind::kMalloc, 0x2000000, 4'000'000);                // 2: B
    events.event(RecordKind::kFree, 0x2000000);                              // 3
    phase(events, ExtendedType::kPhaseEnd, 3000, "load");                   // 4
    phase(events, ExtendedType::kPhaseBegin, 4000, "fit");                  // 5
    events.extended(ExtendedType::kStackRef).varint(2).event(RecordKind::kMalloc, 0x3000000, 1'000'000); // 6: C
    events.event(RecordKind::kMalloc, 0x4000000, 3'000'000);                // 7: D
    events.event(RecordKind::kFree, 0x10000);                                // 8: A, made before "fit"
    events.event(RecordKind::kFree, 0x4000000);                              // 9: D
    phase(events, ExtendedType::kPhaseEnd, 5000, "fit");                    // 10
    phase(events, ExtendedType::kPhaseBegin, 6000, "fit");                  // 11: a second "fit"
    events.event(RecordKind::kMalloc, 0x5000000, 7'000'000);                // 12
    phase(events, ExtendedType::kPhaseEnd, 7000, "fit");                    // 13
    events.extended(ExtendedType::kProcessExit).varint(8000).varint(0);     // 14
    ChunkBuilder frames(1, 15);
    frames.extended(ExtendedType::kFrame).varint(1).varint(0).varint(0x1234);
    frames.extended(ExtendedType::kFrame).varint(2).varint(1).varint(0x5678);
    write_trace(path, {file_header(), start.finish(), events.finish(), frames.finish()});
}

reports::PhaseSlice slice_one(const std::filesystem::path& trace, const std::string& phase) {
    auto slices = reports::slice_phases(trace, {reports::parse_phase_request(phase)});
    REQUIRE(slices.size() == 1);
    return std::move(slices.front());
}

} // namespace

TEST_CASE("phase window: the second phase's own allocations, peak and leftovers, in a valid trace") {
    ScratchDir dir("phase-window");
    write_two_phases(dir / "two.trace");
    const auto slice = slice_one(dir / "two.trace", "fit");
    REQUIRE(slice.found);
    CHECK(slice.occurrences == 2);
    CHECK(slice.live_at_start_bytes == 10'000'000); // A was live when "fit" began

    write_bytes(dir / "fit.trace", slice.trace);
    const ReadBack back = read_all(dir / "fit.trace");
    CHECK(back.meta.format_version == kFormatVersion);
    CHECK(back.meta.skipped.empty()); // every chunk verified its checksum
    CHECK(back.missing == 0);
    REQUIRE(back.meta.images.size() == 1);
    CHECK(back.meta.images[0].start_ns == 4000); // times count from the phase's start
    CHECK(back.meta.images[0].exited);
    std::size_t frees = 0;
    for (const Event& event : back.events) {
        if (event.type == EventType::kFree) ++frees;
        if (event.type == EventType::kAllocation) CHECK((event.address == 0x3000000 || event.address == 0x4000000));
    }
    CHECK(frees == 1); // D's; A's free belongs to the blocks made before the phase

    const auto summary = reports::summarize_trace(dir / "fit.trace");
    CHECK(summary.peak_heap_bytes == 4'000'000); // C + D, not A's 10 MB
    CHECK(summary.total_allocations == 2);
    CHECK(summary.total_frees == 1);
    CHECK(summary.unmatched_frees == 0);
    CHECK(summary.leaked_bytes == 1'000'000); // C: what the phase left allocated
    CHECK(summary.duration_s == Approx(1e-6));
    REQUIRE(summary.phases.size() == 1);
    CHECK(summary.phases[0].name == "fit");
    CHECK(summary.phases[0].peak_heap_bytes == 4'000'000);
    REQUIRE(summary.top_sites.size() == 1); // C's stack only: A's (frame 1 alone) is not in the window
    CHECK(summary.top_sites[0].bytes == 1'000'000);
    CHECK(summary.top_sites[0].stack.size() == 2);
}

TEST_CASE("phase window: NAME#2 is the second phase of that name, a missing one is not found") {
    ScratchDir dir("phase-window-again");
    write_two_phases(dir / "two.trace");
    const auto second = slice_one(dir / "two.trace", "fit#2");
    REQUIRE(second.found);
    CHECK(second.live_at_start_bytes == 1'000'000); // C, left by the first "fit"
    write_bytes(dir / "fit2.trace", second.trace);
    const auto summary = reports::summarize_trace(dir / "fit2.trace");
    CHECK(summary.peak_heap_bytes == 7'000'000);
    CHECK(summary.top_sites.empty()); // its one allocation was not sampled

    const auto third = slice_one(dir / "two.trace", "fit#3");
    CHECK_FALSE(third.found);
    CHECK(third.occurrences == 2);
    const auto none = slice_one(dir / "two.trace", "fti");
    CHECK_FALSE(none.found);
    CHECK(none.phase_names == std::vector<std::string>{"load", "fit"});
    CHECK_THROWS_AS(reports::parse_phase_request("fit#0"), Error);
    CHECK_THROWS_AS(reports::parse_phase_request("#2"), Error);
    CHECK(reports::parse_phase_request("a#b").name == "a#b");
}

TEST_CASE("phase window: several phases cut in one pass are the phases cut one by one") {
    ScratchDir dir("phase-window-many");
    write_two_phases(dir / "two.trace");
    const std::vector<std::string> names{"fit#2", "load", "fit", "fit"};
    std::vector<reports::PhaseRequest> requests;
    for (const auto& name : names) requests.push_back(reports::parse_phase_request(name));
    const auto slices = reports::slice_phases(dir / "two.trace", requests);
    REQUIRE(slices.size() == names.size());
    for (std::size_t i = 0; i < names.size(); ++i) {
        INFO(names[i]);
        const auto alone = slice_one(dir / "two.trace", names[i]);
        REQUIRE(slices[i].found);
        CHECK(slices[i].trace == alone.trace);
        CHECK(slices[i].live_at_start_bytes == alone.live_at_start_bytes);
    }
    CHECK(slices[1].live_at_start_bytes == 0);
}

TEST_CASE("report --phase: a recorded program's second phase in every format, an unknown phase is exit 2") {
    ScratchDir dir("phase-report");
    const auto& trace = recorded_trace(); // phases kEvilPhase (60 MB kept) and "free"
    const auto text = run(fmt::format("{} report {} --phase free", kMemopt, quote(trace.string())));
    INFO(text.out << text.err);
    REQUIRE(text.status == 0);
    CHECK(text.out.find("note: phase 'free' only") != std::string::npos);
    const std::regex live_at_start("note: phase 'free' only, [0-9.]+ s to [0-9.]+ s of the trace: ([0-9.]+) MB already allocated");
    std::smatch match;
    REQUIRE(std::regex_search(text.out, match, live_at_start));
    CHECK(std::stod(match[1]) >= 60.0); // the first phase's 12 blocks of 5 MB, and the interpreter
    const auto json = run(fmt::format("{} report {} --phase free --format json", kMemopt, quote(trace.string())));
    REQUIRE(json.status == 0);
    const auto parsed = nlohmann::json::parse(json.out);
    const auto peak = parsed["peak_heap_bytes"].get<std::uint64_t>();
    CHECK(peak > 2'000'000);  // 2000 blocks of 1000 bytes, and the interpreter's small change
    CHECK(peak < 10'000'000); // not the 60 MB made before the phase
    CHECK(parsed["phases"].size() == 1);

    for (const std::string format : {"html", "folded", "massif", "speedscope"}) {
        const auto out = run(fmt::format("{} report {} --phase free --format {}", kMemopt, quote(trace.string()), format));
        INFO(format << ": " << out.err);
        CHECK(out.status == 0);
        CHECK(!out.out.empty());
    }
    const auto sliced = dir / "free.trace";
    REQUIRE(run(fmt::format("{} report {} --phase free --format trace -o {}", kMemopt, quote(trace.string()),
                            quote(sliced.string())))
                .status == 0);
    const auto again = run(fmt::format("{} report {} --format json", kMemopt, quote(sliced.string())));
    REQUIRE(again.status == 0);
    CHECK(nlohmann::json::parse(again.out)["peak_heap_bytes"].get<std::uint64_t>() == peak);

    // Two phases in one pass, each --phase with its own -o.
    const auto both = run(fmt::format("{} report {} --format json --phase free -o {} --phase {} -o {}", kMemopt,
                                      quote(trace.string()), quote((dir / "free.json").string()), quote(kEvilPhase),
                                      quote((dir / "evil.json").string())));
    INFO(both.err);
    REQUIRE(both.status == 0);
    CHECK(nlohmann::json::parse(read_file(dir / "free.json"))["peak_heap_bytes"].get<std::uint64_t>() == peak);
    CHECK(nlohmann::json::parse(read_file(dir / "evil.json"))["peak_heap_bytes"].get<std::uint64_t>() >= 60'000'000);
    const auto unpaired = run(fmt::format("{} report {} --phase free --phase x -o {}", kMemopt, quote(trace.string()),
                                          quote((dir / "x.json").string())));
    CHECK(unpaired.status == 2);
    CHECK(unpaired.err.find("each --phase NAME takes its own -o FILE") != std::string::npos);

    const auto unknown = run(fmt::format("{} report {} --phase fre", kMemopt, quote(trace.string())));
    CHECK(unknown.status == 2);
    CHECK(unknown.err.find("no phase 'fre'") != std::string::npos);
    CHECK(unknown.err.find("did you mean 'free'?") != std::string::npos);
    CHECK(std::count(unknown.err.begin(), unknown.err.end(), '\n') == 1);
    const auto to_terminal = run(fmt::format("{} report {} --phase free --format trace", kMemopt, quote(trace.string())));
    CHECK(to_terminal.status == 2);
    CHECK(to_terminal.err.find("give -o FILE") != std::string::npos);
}
