// The tracer must never lose data silently nor change what the traced program does (issue
// 12): vfork, _exit in a signal handler, fork + close fds + exec, pid reuse, many threads,
// failed realloc, mremap ordering, the program's own descriptors, RLIMIT_FSIZE. Each case
// runs the program traced and, where it makes sense, untraced, and compares.
#include "reports/analysis/summary.h"
#include "tests/support/run.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fmt/format.h>
#include <sys/stat.h>

using memopt::reports::Summary;
using memopt::reports::summarize_trace;
using memopt::test::quote;
using memopt::test::run;
using memopt::test::RunResult;
using memopt::test::ScratchDir;

namespace {

const std::string kMemopt = MEMOPT_BINARY;
const std::string kProgram = HARDENING_PROGRAM_BINARY;
const std::string kRaceShim = MREMAP_RACE_SHIM;
const std::string kPython = "/usr/bin/python3";
constexpr double kMiB = 1024.0 * 1024.0;

RunResult record(const std::filesystem::path& trace, const std::string& command, const std::string& env = "") {
    return run(fmt::format("{} {} record -q -o {} -- {}", env, kMemopt, quote(trace.string()), command));
}

// Runs `command` untraced and traced; stdout, stderr and status must agree.
RunResult same_as_untraced(const std::filesystem::path& trace, const std::string& command) {
    const auto plain = run(command);
    const auto traced = record(trace, command);
    INFO("command " << command << "\nuntraced: " << plain.status << " " << plain.out << plain.err
                    << "\ntraced: " << traced.status << " " << traced.out << traced.err);
    CHECK(traced.status == plain.status);
    CHECK(traced.out == plain.out);
    CHECK(traced.err == plain.err);
    return traced;
}

std::string joined(const std::vector<std::string>& lines) {
    std::string text;
    for (const auto& line : lines) text += line + "\n";
    return text;
}

std::size_t count_lines_with(const std::string& text, const std::string& needle) {
    std::size_t count = 0;
    for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
    return count;
}

// The largest peak heap among the child traces of `root`.
double largest_child_peak(const Summary& root) {
    double peak = 0;
    for (const auto& child : root.child_traces)
        peak = std::max(peak, static_cast<double>(summarize_trace(child).peak_heap_bytes));
    return peak;
}

} // namespace

TEST_CASE("vfork child that _exits (subprocess of a missing program) leaves the parent traced") {
    ScratchDir dir("harden-vfork");
    const std::string script =
        "import subprocess\n"
        "try:\n    subprocess.run(['/nonexistent/program'])\nexcept FileNotFoundError:\n    pass\n"
        "b = bytearray(200 * 2**20)\nprint(len(b))\n";
    const auto r = same_as_untraced(dir / "t.trace", kPython + " -c " + quote(script));
    REQUIRE(r.status == 0);
    const auto s = summarize_trace(dir / "t.trace");
    CHECK(static_cast<double>(s.peak_heap_bytes) >= 200 * kMiB);
    CHECK(s.warnings.empty());
}

TEST_CASE("_exit from a SIGALRM handler that interrupts an allocation never hangs") {
    constexpr int kRuns = 40;
    int finished = 0;
    for (int i = 0; i < kRuns; ++i) {
        ScratchDir dir("harden-alarm");
        const auto r = run(fmt::format("timeout -s KILL 10 {} record -q -o {} -- {} exit-in-handler", kMemopt,
                                       quote((dir / "t.trace").string()), kProgram));
        INFO("run " << i << ": status " << r.status << " " << r.err);
        CHECK(r.status == 7); // 137: killed by timeout, the tracer hung
        if (r.status == 7) {
            ++finished;
            CHECK_NOTHROW(summarize_trace(dir / "t.trace"));
        }
    }
    CHECK(finished == kRuns);
}

TEST_CASE("fork, close every descriptor, exec: the exec'd image is traced, nothing on stderr") {
    ScratchDir dir("harden-close-exec");
    const auto r = same_as_untraced(dir / "t.trace", kProgram + " fork-close-exec");
    CHECK(r.out.find("after exec: first fd") == 0); // the same number as untraced
    CHECK(r.out.find("child status 0\n") != std::string::npos);
    const auto s = summarize_trace(dir / "t.trace");
    REQUIRE(s.child_traces.size() == 1);
    CHECK(largest_child_peak(s) >= 48 * kMiB);
}

TEST_CASE("fork, fork, exec: the grandchild's exec'd image is traced and its descriptors are its own") {
    ScratchDir dir("harden-fork-fork-exec");
    const auto r = same_as_untraced(dir / "t.trace", kProgram + " fork-fork-exec");
    CHECK(r.out.find("after exec: first fd") == 0); // the same number as untraced
    CHECK(r.out.find("child status 0\n") != std::string::npos);
    const auto s = summarize_trace(dir / "t.trace");
    REQUIRE(s.child_traces.size() == 2);
    CHECK(largest_child_peak(s) >= 48 * kMiB);
}

TEST_CASE("execl continues the same trace, as execv does") {
    ScratchDir dir("harden-execl");
    const auto r = same_as_untraced(dir / "t.trace", kProgram + " execl-self");
    CHECK(r.out.find("after exec: first fd") == 0);
    const auto s = summarize_trace(dir / "t.trace");
    CHECK(s.child_traces.empty());
    CHECK(static_cast<double>(s.peak_heap_bytes) >= 48 * kMiB); // the exec'd image's, in the same file
}

TEST_CASE("Python subprocess with preexec_fn (fork, close_fds, exec): the child is traced") {
    ScratchDir dir("harden-preexec");
    const std::string child = "b = bytearray(50 * 2**20); print(len(b))";
    const std::string script = fmt::format(
        "import subprocess, sys\n"
        "r = subprocess.run([sys.executable, '-c', {}], preexec_fn=lambda: None, capture_output=True, text=True)\n"
        "print(r.returncode, repr(r.stdout), repr(r.stderr))\n",
        quote(child));
    const auto r = same_as_untraced(dir / "t.trace", kPython + " -c " + quote(script));
    CHECK(r.out == "0 '52428800\\n' ''\n");
    const auto s = summarize_trace(dir / "t.trace");
    REQUIRE(s.child_traces.size() == 1);
    CHECK(largest_child_peak(s) >= 50 * kMiB);
}

TEST_CASE("pid reuse: children whose TRACE.PID is taken write TRACE.PID.N and are all traced") {
    // The program (when traced) takes the names TRACE.PID of the next 8000 pids first, as
    // earlier children of the same run would have; then forks one child after another. It can
    // only predict the pids: when other processes took 8000 of them meanwhile, no collision
    // happened and the run shows nothing, so it is run again (at most 3 times).
    constexpr int kForks = 50;
    std::size_t renamed = 0;
    for (int attempt = 1; attempt <= 3 && renamed == 0; ++attempt) {
        ScratchDir dir("harden-pid-reuse");
        const auto r = same_as_untraced(dir / "t.trace", fmt::format("{} forks-taken {}", kProgram, kForks));
        CHECK(r.out == fmt::format("forks {} failed 0\n", kForks));
        const auto s = summarize_trace(dir / "t.trace");
        CHECK(s.child_traces.size() == kForks);
        for (const auto& child : s.child_traces) {
            const auto name = std::filesystem::path(child).filename().string();
            if (std::count(name.begin(), name.end(), '.') == 3) ++renamed; // t.trace.PID.N
            const auto c = summarize_trace(child);
            CHECK(c.total_allocations >= 1);
        }
    }
    CHECK(renamed > 0); // the collision did happen
}

TEST_CASE("8000 threads alive at once are all traced") {
    ScratchDir dir("harden-threads");
    const auto r = same_as_untraced(dir / "t.trace", kProgram + " threads 8000");
    REQUIRE(r.out == "threads 8000\n");
    const auto s = summarize_trace(dir / "t.trace");
    CHECK(s.total_allocations >= 8000);
    INFO(joined(s.warnings));
    CHECK(s.warnings.empty());
}

TEST_CASE("threads past the tracer's buffers: the trace says they were not traced") {
    ScratchDir dir("harden-thread-limit");
    const auto r = record(dir / "t.trace", kProgram + " threads 200", "MEMOPT_MAX_THREADS=64");
    REQUIRE(r.status == 0);
    CHECK(r.out == "threads 200\n");
    const auto s = summarize_trace(dir / "t.trace");
    const std::string warnings = joined(s.warnings);
    INFO(warnings);
    CHECK(count_lines_with(warnings, "not traced") >= 2); // when it happened, and the count at exit
    CHECK(warnings.find("threads were not traced") != std::string::npos);
    CHECK(warnings.find("killed") == std::string::npos);
}

TEST_CASE("a failed realloc or reallocarray keeps the block in the trace") {
    ScratchDir dir("harden-realloc");
    const auto r = same_as_untraced(dir / "t.trace", kProgram + " realloc-fail");
    CHECK(r.out == "realloc failed, reallocarray failed, block kept 1\n");
    const auto s = summarize_trace(dir / "t.trace");
    CHECK(static_cast<double>(s.peak_heap_bytes) >= 200 * kMiB);
    INFO(joined(s.warnings));
    CHECK(s.warnings.empty());
}

TEST_CASE("mremap: another thread mapping the range it left is ordered after the release") {
    ScratchDir dir("harden-mremap");
    // The shim goes after the tracer in LD_PRELOAD, so it is the tracer's "real" mremap.
    const auto r = record(dir / "t.trace", kProgram + " mremap-race", "LD_PRELOAD=" + quote(kRaceShim));
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    const auto s = summarize_trace(dir / "t.trace");
    // 8 MiB mapped again where the old range was + the 16 MiB moved mapping, still mapped.
    CHECK(static_cast<double>(s.leaked_mapped_bytes) >= 24 * kMiB);
    CHECK(s.warnings.empty());
}

TEST_CASE("the program's descriptors are its own: its first open gets the number it gets untraced") {
    ScratchDir dir("harden-first-fd");
    const auto r = same_as_untraced(dir / "t.trace", kProgram + " first-fd");
    CHECK(r.out.find("after exec: first fd") == 0);
    // And with nothing inherited from the test runner: 3.
    const auto closed = record(dir / "closed.trace", "/bin/sh -c " + quote("exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-; exec " + kProgram + " first-fd"));
    CHECK(closed.out == "after exec: first fd 3\n");
}

TEST_CASE("a program that dup2s its file onto every descriptor: no chunk lands in it, RSS stays its own") {
    ScratchDir dir("harden-dup2");
    const auto own = dir / "own.txt";
    const auto r = same_as_untraced(dir / "t.trace", fmt::format("{} dup2-everywhere {}", kProgram, quote(own.string())));
    CHECK(r.out == "own file intact (24 bytes)\n");
    const auto s = summarize_trace(dir / "t.trace");
    CHECK(static_cast<double>(s.peak_heap_bytes) >= 64 * kMiB);
    CHECK(static_cast<double>(s.peak_rss_bytes) >= 64 * kMiB);
    CHECK(static_cast<double>(s.peak_rss_bytes) < 1024 * kMiB);
    CHECK(s.exit_known);
    INFO(joined(s.warnings));
    CHECK(s.warnings.empty());
}

TEST_CASE("RLIMIT_FSIZE set by the program: it runs on, the trace says it stopped, one stderr line") {
    ScratchDir dir("harden-fsize");
    const std::string command = kProgram + " fsize";
    const auto plain = run(command);
    // Plain chunks: compressed, this program's trace would stay far below the limit.
    const auto traced = record(dir / "t.trace", command, "MEMOPT_COMPRESS=0");
    INFO(traced.err);
    CHECK(traced.status == plain.status);
    CHECK(traced.status == 0);
    CHECK(traced.out == plain.out);
    CHECK(count_lines_with(traced.err, "memopt: ") == 1);
    CHECK(traced.err.find("RLIMIT_FSIZE") != std::string::npos);
    const auto s = summarize_trace(dir / "t.trace");
    CHECK(joined(s.warnings).find("RLIMIT_FSIZE") != std::string::npos);
    CHECK(std::filesystem::file_size(dir / "t.trace") <= 256 * 1024 + 4096); // + record's exit status
}
