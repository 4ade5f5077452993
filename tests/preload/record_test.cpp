// End-to-end: real programs under `memopt record`, compared with what is known to be true.
#include "reports/analysis/summary.h"
#include "tests/support/run.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <csignal>
#include <fmt/format.h>
#include <regex>
#include <thread>

using memopt::reports::summarize_trace;
using memopt::test::quote;
using memopt::test::run;
using memopt::test::ScratchDir;

namespace {

const std::string kMemopt = MEMOPT_BINARY;
const std::string kGroundTruth = GROUND_TRUTH_BINARY;
const std::string kPython = "/usr/bin/python3";

std::uint64_t number_after(const std::string& text, const std::string& key) {
    std::smatch match;
    REQUIRE(std::regex_search(text, match, std::regex(key + "=(\\d+)")));
    return std::stoull(match[1]);
}

memopt::test::RunResult record(const std::filesystem::path& trace, const std::string& command,
                               const std::string& options = "") {
    return run(fmt::format("{} record -q {} -o {} -- {}", kMemopt, options, quote(trace.string()), command));
}

const memopt::reports::PhaseSummary* find_phase(const memopt::reports::Summary& s, const std::string& name) {
    for (const auto& phase : s.phases)
        if (phase.name == name) return &phase;
    return nullptr;
}

} // namespace

TEST_CASE("ground truth: peak, leaks and counts of a known C program") {
    ScratchDir dir("ground-truth");
    const auto leak_run = record(dir / "leak.trace", kGroundTruth + " leak");
    const auto clean_run = record(dir / "noleak.trace", kGroundTruth + " noleak");
    REQUIRE(leak_run.status == 0);
    REQUIRE(clean_run.status == 0);
    const auto leak = summarize_trace(dir / "leak.trace");
    const auto clean = summarize_trace(dir / "noleak.trace");

    const double expected_peak = static_cast<double>(number_after(leak_run.out, "expected_peak_bytes"));
    CHECK(static_cast<double>(leak.peak_heap_bytes) == Approx(expected_peak).epsilon(0.01));
    CHECK(static_cast<double>(clean.peak_heap_bytes) == Approx(expected_peak).epsilon(0.01));

    // The deliberate leaks, exactly: the two runs differ only by them.
    CHECK(leak.leaked_bytes - clean.leaked_bytes == number_after(leak_run.out, "deliberate_leak_bytes"));
    // The same allocations exactly, and nothing left mapped: a fresh Debian root once traced
    // 1000022 against 1000021, a compression context the tracer mapped in a thread's exit
    // handler counted as the program's (fixed; see the exit-flush case below). A record
    // counted twice would land on a live address: none may.
    INFO("allocations: leak run " << leak.total_allocations << ", clean run " << clean.total_allocations);
    CHECK(leak.total_allocations == clean.total_allocations);
    CHECK(leak.leaked_mapped_bytes == 0);
    CHECK(clean.leaked_mapped_bytes == 0);
    CHECK(leak.reallocated_live == 0);
    CHECK(clean.reallocated_live == 0);
    CHECK(clean.total_frees - leak.total_frees == 3);

    // Counts: everything the program did, plus at most a few allocations libc makes for it.
    const auto known_allocations = number_after(leak_run.out, "known_allocations");
    const auto known_frees = number_after(clean_run.out, "known_frees");
    CHECK(clean.total_allocations >= known_allocations);
    CHECK(clean.total_allocations <= known_allocations + 64);
    CHECK(clean.total_frees >= known_frees);
    CHECK(clean.total_frees <= known_frees + 64);
    CHECK(clean.unmatched_frees < 16);
    CHECK(clean.exit_known);
    CHECK(clean.exit_code == 0);

    const auto* blocks = find_phase(clean, "blocks");
    const auto* threads = find_phase(clean, "threads");
    REQUIRE(blocks);
    REQUIRE(threads);
    CHECK(static_cast<double>(blocks->peak_heap_bytes) == Approx(expected_peak).epsilon(0.01));
    CHECK(threads->peak_heap_bytes < 4 * 1024 * 1024);
    CHECK(threads->start_s >= blocks->end_s);
}

TEST_CASE("threads whose last records go out at their exit: the tracer's own mappings are not counted") {
    // 48 threads, 12 at a time ending together behind a barrier: their exit handlers flush
    // at once and make compression contexts (about 714 kB mapped each). Those are the
    // tracer's: before the exit handler entered the tracer, each showed as a program mapping
    // still mapped at exit (1 to 8 of them a run, every run).
    ScratchDir dir("exit-flush");
    const auto r = record(dir / "t.trace", kGroundTruth + " exit-flush");
    REQUIRE(r.status == 0);
    const auto s = summarize_trace(dir / "t.trace");
    CHECK(s.leaked_mapped_bytes == 0); // the program maps nothing
    CHECK(s.peak_heap_mapped_bytes == 0);
    CHECK(s.total_allocations >= 48 * 3000);
    CHECK(s.total_allocations <= 48 * 3000 + 64);
    CHECK(s.reallocated_live == 0);
}

TEST_CASE("a Python script using numpy: the array shows in peak heap and its phase") {
    ScratchDir dir("numpy");
    const std::string script =
        "import memopt, numpy\n"
        "assert memopt.tracing()\n"
        "with memopt.phase('small'):\n"
        "    b = numpy.ones(10**5)\n"
        "with memopt.phase('big'):\n"
        "    a = numpy.ones(10**7)\n"
        "    del a\n";
    const auto result = record(dir / "t.trace", kPython + " -c " + quote(script));
    REQUIRE(result.status == 0);
    const auto s = summarize_trace(dir / "t.trace");
    const double array = 8e7;
    const auto* big = find_phase(s, "big");
    const auto* small = find_phase(s, "small");
    REQUIRE(big);
    REQUIRE(small);
    CHECK(small->end_s <= big->start_s);
    // Measured against the 'small' phase, not from zero: what numpy's import reserves depends
    // on the BLAS installed (OpenBLAS maps 128 MiB per BLAS thread, reference BLAS nothing).
    const double grown = static_cast<double>(big->peak_heap_bytes) - static_cast<double>(small->peak_heap_bytes);
    CHECK(grown >= array);
    CHECK(grown < array + 4e6);
    CHECK(s.peak_heap_bytes == big->peak_heap_bytes);
    CHECK(s.peak_rss_bytes > 8e7);
}

TEST_CASE("phase markers do nothing in a plain run") {
    const auto result = run(kPython + " -c " + quote("import sys; sys.path.insert(0, '" MEMOPT_PYTHON_DIR
                                                     "'); import memopt\nwith memopt.phase('x'): pass\n"
                                                     "print(memopt.tracing())"));
    CHECK(result.status == 0);
    CHECK(result.out == "False\n");
}

TEST_CASE("the command's exit status passes through") {
    ScratchDir dir("status");
    CHECK(record(dir / "a.trace", kPython + " -c 'import sys; sys.exit(7)'").status == 7);
    const auto s = summarize_trace(dir / "a.trace");
    CHECK(s.exit_code == 7);
    CHECK(record(dir / "b.trace", kPython + " -c 'raise SystemExit(3)'").status == 3);
}

TEST_CASE("fork: each child writes its own TRACE.PID and the parent runs on unharmed") {
    ScratchDir dir("fork");
    const std::string script =
        "import os, numpy\n"
        "pids = []\n"
        "for i in range(3):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        a = numpy.ones(5 * 10**6)\n"
        "        os._exit(0)\n"
        "    pids.append(pid)\n"
        "for pid in pids:\n"
        "    assert os.waitpid(pid, 0)[1] == 0\n"
        "print('parent done')\n";
    const auto result = record(dir / "f.trace", kPython + " -c " + quote(script));
    REQUIRE(result.status == 0);
    CHECK(result.out == "parent done\n");
    const auto parent = summarize_trace(dir / "f.trace");
    REQUIRE(parent.child_traces.size() == 3);
    // The parent's own peak is what `import numpy` costs here (it depends on the BLAS): the
    // children's 40 MB arrays must not be added to it.
    REQUIRE(record(dir / "import.trace", kPython + " -c 'import os, numpy'").status == 0);
    const auto import_only = summarize_trace(dir / "import.trace");
    CHECK(static_cast<double>(parent.peak_heap_bytes) < static_cast<double>(import_only.peak_heap_bytes) + 20e6);
    for (const auto& child_path : parent.child_traces) {
        const auto child = summarize_trace(child_path);
        CHECK(child.peak_heap_bytes > 40e6);
        CHECK(child.warnings.empty());
    }
}

TEST_CASE("exec is followed in the same trace, the old image's memory is not a leak") {
    ScratchDir dir("exec");
    const std::string script =
        "import os, sys, numpy\n"
        "a = numpy.ones(6 * 10**6)\n"
        "os.execv(sys.executable, [sys.executable, '-c', 'import numpy; keep = numpy.ones(10**6); print(\"after exec\")'])\n";
    const auto result = record(dir / "e.trace", kPython + " -c " + quote(script));
    REQUIRE(result.status == 0);
    CHECK(result.out == "after exec\n");
    const auto s = summarize_trace(dir / "e.trace");
    CHECK(s.peak_heap_bytes > 48e6);          // seen before exec
    CHECK(s.child_traces.empty());
    CHECK(s.leaked_bytes < 48e6);             // the first image's array is gone
}

TEST_CASE("subprocesses of the traced program get their own traces") {
    ScratchDir dir("spawn");
    const std::string script =
        "import subprocess, sys\n"
        "subprocess.run([sys.executable, '-c', 'import numpy; a = numpy.ones(4 * 10**6)'], check=True)\n"
        "print('ok')\n";
    const auto result = record(dir / "s.trace", kPython + " -c " + quote(script));
    REQUIRE(result.status == 0);
    CHECK(result.out == "ok\n");
    const auto s = summarize_trace(dir / "s.trace");
    REQUIRE(s.child_traces.size() == 1);
    CHECK(summarize_trace(s.child_traces.front()).peak_heap_bytes > 32e6);
}

TEST_CASE("SIGKILL mid-run leaves a trace readable up to the last flush") {
    ScratchDir dir("kill");
    const auto trace = dir / "k.trace";
    const auto pid_file = dir / "pid";
    const std::string script = fmt::format(
        "import numpy, os, time\n"
        "a = numpy.ones(5 * 10**6)\n"
        "open('{}', 'w').write(str(os.getpid()))\n"
        "time.sleep(60)\n",
        pid_file.string());
    // Kill the traced python (not memopt) once it has allocated; memopt passes on 128+9.
    const std::string command = fmt::format(
        "{} record -q -o {} -- {} -c {} & "
        "for i in $(seq 200); do [ -s {} ] && break; sleep 0.05; done; sleep 0.3; "
        "kill -KILL $(cat {}); wait $!",
        kMemopt, quote(trace.string()), kPython, quote(script), quote(pid_file.string()),
        quote(pid_file.string()));
    const auto result = run(command);
    CHECK(result.status == 137);
    const auto s = summarize_trace(trace);
    CHECK(s.killed_by_signal);
    CHECK(s.peak_heap_bytes > 40e6);
}

TEST_CASE("stacks: allocations are attributed to native call sites") {
    ScratchDir dir("stacks");
    REQUIRE(record(dir / "s.trace", kGroundTruth + " noleak", "--stacks=1").status == 0);
    memopt::reports::SummaryOptions options;
    options.top_sites = 5;
    const auto s = summarize_trace(dir / "s.trace", options);
    REQUIRE(s.top_sites.size() >= 2);
    // With every allocation sampled, counts are exact: the threads' million small blocks
    // come first by bytes, then the 64 MiB block, each named by its function.
    const auto& churn = s.top_sites[0];
    CHECK(churn.count == 1'000'000);
    // "small_churn (ground_truth)", with "ground_truth.c:LINE" in between when built with -g.
    CHECK(churn.stack.front().starts_with("small_churn "));
    CHECK(churn.stack.front().ends_with(" (ground_truth)"));
    const auto& big = s.top_sites[1];
    CHECK(big.count == 1);
    CHECK(big.bytes == 64ull * 1024 * 1024);
    CHECK(big.stack.front().starts_with("main "));
    CHECK(big.stack.front().ends_with(" (ground_truth)"));
}

TEST_CASE("bad input: one-line errors and exit status 2") {
    ScratchDir dir("bad");
    SECTION("missing command") {
        const auto r = run(kMemopt + " record -o " + quote((dir / "x.trace").string()) + " -- no-such-command-xyz");
        CHECK(r.status == 2);
        CHECK(r.err.find("no-such-command-xyz") != std::string::npos);
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
        CHECK(!std::filesystem::exists(dir / "x.trace"));
    }
    SECTION("existing trace is not overwritten without --force") {
        memopt::test::run("echo keep > " + quote((dir / "t.trace").string()));
        const auto r = record(dir / "t.trace", "/bin/true");
        CHECK(r.status == 2);
        CHECK(memopt::test::read_file(dir / "t.trace") == "keep\n");
        CHECK(record(dir / "t.trace", "/bin/true", "--force").status == 0);
    }
    SECTION("unwritable output directory") {
        const auto r = record(dir / "missing-dir" / "t.trace", "/bin/true");
        CHECK(r.status == 2);
        CHECK(r.err.find("missing-dir") != std::string::npos);
    }
    SECTION("unknown flag") {
        const auto r = run(kMemopt + " record --bogus -- /bin/true");
        CHECK(r.status == 2);
        CHECK(r.err.find("bogus") != std::string::npos);
    }
    SECTION("report of a missing file") {
        const auto r = run(kMemopt + " report " + quote((dir / "nope.trace").string()));
        CHECK(r.status == 2);
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    }
}

TEST_CASE("a large untouched anonymous mapping is explained and named in the report") {
    ScratchDir dir("reserve");
    // 256 MiB reserved through Python's mmap module, one page touched: heap far above RSS.
    const std::string script =
        "import mmap\n"
        "m = mmap.mmap(-1, 256 << 20)\n"
        "m[0] = 1\n";
    REQUIRE(record(dir / "r.trace", kPython + " -c " + quote(script)).status == 0);
    const auto s = summarize_trace(dir / "r.trace");
    CHECK(s.peak_heap_bytes > (256u << 20));
    CHECK(s.peak_rss_bytes < (256u << 20));
    std::string notes;
    for (const auto& note : s.notes) notes += note;
    INFO(notes);
    CHECK(notes.find("268.4 MB (256.0 MiB) in 1 mapping by") != std::string::npos);
    CHECK(notes.find("(python3.11)") != std::string::npos); // named, although stacks were off
    CHECK(notes.find("never touched") != std::string::npos);
}

TEST_CASE("mappings that are touched get no reservation note") {
    ScratchDir dir("touched");
    // bytearray's 256 MiB come from malloc (a mapping inside glibc, not a traced one) and are
    // all written: peak heap and peak RSS agree, nothing to explain.
    REQUIRE(record(dir / "t.trace", kPython + " -c 'b = bytearray(256 << 20)'").status == 0);
    const auto s = summarize_trace(dir / "t.trace");
    for (const auto& note : s.notes) CHECK(note.find("(256.0 MiB) in 1 mapping") == std::string::npos);
}
