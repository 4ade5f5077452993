// `memopt record` as a user sees it: the closing line names the trace and its size apart
// from the memory figures; --live prints heap, RSS and the phase once a second on stderr
// without touching the trace (reports/analysis/live_status.h).
#include "reports/analysis/live_status.h"
#include "reports/analysis/summary.h"
#include "tests/support/run.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <regex>
#include <sstream>
#include <unistd.h>

using memopt::test::quote;
using memopt::test::run;
using memopt::test::ScratchDir;

namespace {

const std::string kMemopt = MEMOPT_BINARY;

// ~2.5 s inside a phase whose name is 40 characters, 30 MB held.
const std::string kLongRun = "import memopt, time\n"
                             "with memopt.phase('load_the_whole_training_set_into_memory'):\n"
                             "    data = bytearray(30_000_000)\n"
                             "    time.sleep(2.5)\n";

std::vector<std::string> lines_with(const std::string& text, const std::string& needle) {
    std::vector<std::string> found;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (line.find(needle) != std::string::npos) found.push_back(line);
    return found;
}

} // namespace

TEST_CASE("record's closing line says which number is the trace size") {
    ScratchDir dir("cli-closing");
    const auto trace = dir / "t.trace";
    const auto r = run(fmt::format("{} record -o {} -- /usr/bin/python3 -c 'x = bytearray(20_000_000)'", kMemopt,
                                   quote(trace.string())));
    REQUIRE(r.status == 0);
    INFO(r.err);
    const std::regex closing("memopt record: command exited with status 0, ru_maxrss [0-9.]+ MB; trace .*t\\.trace "
                             "\\([0-9.]+ (B|kB|MB) on disk\\); see: memopt report .*t\\.trace\n");
    CHECK(std::regex_search(r.err, closing));
}

TEST_CASE("record --live prints heap, RSS and the phase on stderr once a second") {
    ScratchDir dir("cli-live");
    const auto trace = dir / "t.trace";
    const auto r = run(fmt::format("{} record --live -o {} -- /usr/bin/python3 -c {}", kMemopt, quote(trace.string()),
                                   quote(kLongRun)));
    REQUIRE(r.status == 0);
    INFO(r.err);
    const auto live = lines_with(r.err, "memopt record: live ");
    REQUIRE(live.size() >= 2); // at 1 s and 2 s of a run of 2.5 s or more
    const std::regex line("memopt record: live [0-9.]+ s: heap [0-9.]+ [kMG]?B \\(peak [0-9.]+ [kMG]?B\\), "
                          "RSS ([0-9.]+ [kMG]?B|\\(ended\\))(, phase .*)?");
    for (const auto& l : live) CHECK(std::regex_match(l, line));
    // The phase is shown whole, and the 30 MB are in the heap while it runs.
    CHECK(lines_with(r.err, "phase load_the_whole_training_set_into_memory").size() >= 1);
    CHECK(std::regex_search(r.err, std::regex("heap (3[0-9]|[4-9][0-9])\\.[0-9] MB")));
    // The trace is whole: its summary reads without warnings and sees the phase.
    const auto summary = memopt::reports::summarize_trace(trace);
    CHECK(summary.warnings.empty());
    REQUIRE(summary.phases.size() == 1);
    CHECK(summary.phases[0].name == "load_the_whole_training_set_into_memory");
    CHECK(summary.exit_known);
}

TEST_CASE("the live reading of a finished trace matches its summary") {
    ScratchDir dir("cli-live-read");
    const auto trace = dir / "t.trace";
    REQUIRE(run(fmt::format("{} record -q -o {} -- /usr/bin/python3 -c {}", kMemopt, quote(trace.string()),
                            quote("import memopt\nwith memopt.phase('outer'):\n    x = bytearray(8_000_000)\n")))
                .status == 0);
    const auto reading = memopt::reports::read_trace_so_far(trace);
    const auto summary = memopt::reports::summarize_trace(trace);
    CHECK(reading.heap_known);
    CHECK(reading.peak_heap_bytes == summary.peak_heap_bytes);
    CHECK(reading.heap_bytes == summary.leaked_bytes + summary.leaked_mapped_bytes);
    CHECK_FALSE(memopt::reports::read_trace_so_far(dir / "missing.trace").heap_known);
    CHECK(memopt::reports::resident_bytes(::getpid()).value_or(0) > 0);
    CHECK_FALSE(memopt::reports::resident_bytes(0x7ffffff0));
}
