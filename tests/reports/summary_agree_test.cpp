// Reports that agree with each other (issue 16, item 5): the summary JSON gives back every
// field it holds; `memopt report SUMMARY.json` says what `memopt report TRACE` says; a
// parent's report lists each child trace with its command and peaks (--children adds them
// up); phase names are never cut.
#include "common/sizes.h"
#include "reports/analysis/summary_json.h"
#include "reports/render/summary_format.h"
#include "tests/support/run.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <fmt/format.h>

using namespace memopt::test;
using memopt::reports::Summary;
using nlohmann::json;

namespace {

const std::string kMemopt = quote(MEMOPT_BINARY);

// Every field of a Summary set to a value of its own, none the default.
Summary every_field() {
    Summary s;
    s.command = {"python3", "train.py", "--epochs", "3"};
    s.exit_code = 3;
    s.exit_known = true;
    s.killed_by_signal = true;
    s.duration_s = 12.5;
    s.peak_heap_bytes = 300'000'000;
    s.peak_heap_mapped_bytes = 120'000'000;
    s.peak_heap_time_s = 7.25;
    s.peak_rss_bytes = 410'000'000;
    s.leaked_bytes = 5'000'000;
    s.leaked_mapped_bytes = 2'000'000;
    s.total_allocations = 123456;
    s.total_frees = 123000;
    s.total_allocated_bytes = 9'000'000'000;
    s.unmatched_frees = 17;
    s.reallocated_live = 2;
    s.stack_sample_bytes = 131072;
    s.phases = {{"load_the_whole_training_set_into_memory", 0.5, 4.0, 250'000'000, 300'000'000}};
    s.top_sites = {{{"malloc", "np.zeros", "train.py:12"}, 200'000'000, 42}};
    s.timeline = {{0.01, 1000, 2000}, {6.5, 300'000'000, 400'000'000}};
    s.child_traces = {"t.trace.4242"};
    s.children = {{"t.trace.4242", 4242, 4241, {"python3", "-c", "worker()"}, true, 3.5, 64'000'000, 80'000'000}};
    s.warnings = {"a chunk was lost"};
    s.notes = {"an explanation"};
    s.events = 999;
    s.trace_bytes = 4096;
    return s;
}

} // namespace

TEST_CASE("summary JSON: every field comes back, the peak's time and mapped bytes too") {
    const Summary original = every_field();
    const json written = memopt::reports::summary_to_json(original);
    // The filled summary leaves no field at its default: a field the test forgot would show.
    const json defaults = memopt::reports::summary_to_json(Summary{});
    for (const auto& [key, value] : written.items()) {
        INFO(key);
        REQUIRE(defaults.contains(key));
        if (key != "schema") CHECK(value != defaults.at(key));
    }
    CHECK(written.size() == defaults.size());
    // Read back and written again: the same JSON, so every field was read.
    const Summary back = memopt::reports::summary_from_json(json::parse(written.dump()));
    CHECK(memopt::reports::summary_to_json(back) == written);
    CHECK(back.peak_heap_time_s == 7.25);
    CHECK(back.peak_heap_mapped_bytes == 120'000'000);
    REQUIRE(back.children.size() == 1);
    CHECK(back.children[0].command == std::vector<std::string>{"python3", "-c", "worker()"});
    CHECK(back.children[0].peak_rss_bytes == 80'000'000);
    // And the text of the two is the same text.
    CHECK(memopt::reports::summary_to_text(back) == memopt::reports::summary_to_text(original));
}

TEST_CASE("summary text shows every field it holds, the phase name whole") {
    const std::string text = memopt::reports::summary_to_text(every_field(), {true});
    INFO(text);
    for (const char* expected : {"python3 train.py --epochs 3", "killed by signal", "12.500 s",
                                 "peak heap    300.0 MB (286.1 MiB)", "180.0 MB malloc'd + 120.0 MB anonymous mmap",
                                 "at 7.250 s", "peak RSS     410.0 MB (391.0 MiB)", "5.0 MB in malloc'd blocks",
                                 "2.0 MB still mapped", "123456 allocations, 123000 frees, 9.0 GB allocated",
                                 "17 frees of blocks allocated before tracing", "2 samples", "train.py:12",
                                 "load_the_whole_training_set_into_memory ", "fork of python3 -c worker() (t.trace.4242)",
                                 "64.0 MB", "80.0 MB", "all 2 processes: peak heap 364.0 MB", "peak RSS 490.0 MB",
                                 "WARNING: a chunk was lost", "note: an explanation", "999 events, 4.1 kB read"})
        CHECK(text.find(expected) != std::string::npos);
}

TEST_CASE("report of a trace and of its JSON summary agree, children listed with command and peak") {
    ScratchDir dir("summary-agree");
    const auto trace = dir / "t.trace";
    // A fork that holds 20 MB, a spawned program that holds 30 MB and a fork that execs
    // /bin/echo (its trace names echo, not python), each in its own trace.
    const std::string program = "import memopt, os, subprocess\n"
                                "with memopt.phase('a_phase_name_of_exactly_forty_characters'):\n"
                                "    x = bytearray(8_000_000)\n"
                                "if os.fork() == 0:\n"
                                "    y = bytearray(20_000_000)\n"
                                "    os._exit(0)\n"
                                "os.wait()\n"
                                "subprocess.run(['/usr/bin/python3', '-c', 'z = bytearray(30_000_000)'])\n"
                                "subprocess.run(['/bin/echo', 'exec after fork'], preexec_fn=lambda: None,\n"
                                "               stdout=subprocess.DEVNULL)\n";
    REQUIRE(run(fmt::format("{} record -q -o {} -- /usr/bin/python3 -c {}", kMemopt, quote(trace.string()), quote(program)))
                .status == 0);
    const auto text = run(fmt::format("{} report {}", kMemopt, quote(trace.string())));
    REQUIRE(text.status == 0);
    INFO(text.out);
    CHECK(text.out.find("a_phase_name_of_exactly_forty_characters ") != std::string::npos);
    CHECK(text.out.find("python3 -c z = bytearray(30_000_000)") == std::string::npos); // quoted: it has spaces
    CHECK(text.out.find("/usr/bin/python3 -c 'z = bytearray(30_000_000)' (") != std::string::npos);
    CHECK(text.out.find("fork of /usr/bin/python3 -c '") != std::string::npos);
    const auto summary = memopt::reports::summarize_trace(trace);
    REQUIRE(summary.children.size() == 3);
    CHECK(text.out.find("/bin/echo 'exec after fork' (") != std::string::npos);
    std::uint64_t fork_heap = 0, spawned_heap = 0;
    for (const auto& child : summary.children) {
        if (child.command.front() == "/bin/echo") continue;
        CHECK(child.ppid != 0);
        CHECK_FALSE(child.command.empty());
        (child.forked ? fork_heap : spawned_heap) = child.peak_heap_bytes;
        CHECK(text.out.find(memopt::format_size(static_cast<double>(child.peak_heap_bytes))) != std::string::npos);
    }
    CHECK(fork_heap >= 20'000'000);
    CHECK(spawned_heap >= 30'000'000);
    CHECK(text.out.find("memopt report --children adds the 4 processes' peaks up") != std::string::npos);
    const auto html = run(fmt::format("{} report --format html {}", kMemopt, quote(trace.string())));
    CHECK(html.out.find("<h2>Child processes</h2>") != std::string::npos);
    CHECK(html.out.find("/usr/bin/python3 -c z = bytearray(30_000_000)") != std::string::npos);
    CHECK(html.out.find("fork of /usr/bin/python3 -c ") != std::string::npos);
    const auto added = run(fmt::format("{} report --children {}", kMemopt, quote(trace.string())));
    std::uint64_t all_heap = summary.peak_heap_bytes;
    for (const auto& child : summary.children) all_heap += child.peak_heap_bytes;
    CHECK(added.out.find("all 4 processes: peak heap " + memopt::format_size_both(static_cast<double>(all_heap))) !=
          std::string::npos);
    // A child's own report names its command, with no "memopt record was interrupted" warning.
    const auto spawned = std::find_if(summary.children.begin(), summary.children.end(), [](const auto& c) {
        return c.command.size() == 3 && c.command[2] == "z = bytearray(30_000_000)";
    });
    REQUIRE(spawned != summary.children.end());
    const auto child = run(fmt::format("{} report {}", kMemopt, quote(spawned->trace)));
    CHECK(child.out.rfind("command      /usr/bin/python3 -c", 0) == 0);
    CHECK(child.err.empty());
    // The JSON summary reports the same text.
    const auto json_file = dir / "s.json";
    REQUIRE(run(fmt::format("{} report {} --format json -o {}", kMemopt, quote(trace.string()), quote(json_file.string())))
                .status == 0);
    const auto again = run(fmt::format("{} report {}", kMemopt, quote(json_file.string())));
    CHECK(again.status == 0);
    CHECK(again.out == text.out);
}
