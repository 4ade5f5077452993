// Faults a traced program may meet: many forks, threads, exec, exit from a thread, SIGKILL,
// a full disk and an unwritable directory. Traced, the program must behave exactly as
// untraced (same stdout, stderr and exit status) and leave traces that read.
// MEMOPT_FAULT_REPEAT (default 2) repeats every program; docs/reliability.md has counts.
#include "profiler/trace/reader.h"
#include "reports/analysis/summary.h"
#include "tests/support/run.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

using memopt::reports::summarize_trace;
using memopt::test::quote;
using memopt::test::run;
using memopt::test::RunResult;
using memopt::test::ScratchDir;

namespace {

const std::string kMemopt = MEMOPT_BINARY;
const std::string kFault = FAULT_PROGRAM_BINARY;

int repeat() {
    const char* text = std::getenv("MEMOPT_FAULT_REPEAT");
    return text && std::atoi(text) > 0 ? std::atoi(text) : 2;
}

// Every trace of the run (root and children) reads without an exception.
std::size_t read_all(const std::filesystem::path& trace) {
    const auto summary = summarize_trace(trace);
    for (const auto& child : summary.child_traces) REQUIRE_NOTHROW(summarize_trace(child));
    return summary.child_traces.size();
}

// Runs `args` untraced and traced; both must agree exactly. Returns the traced result.
RunResult same_as_untraced(const std::filesystem::path& trace, const std::string& args) {
    const auto plain = run(fmt::format("{} {}", kFault, args));
    const auto traced = run(fmt::format("{} record -q -o {} -- {} {}", kMemopt, quote(trace.string()), kFault, args));
    INFO("mode " << args << "\nuntraced: " << plain.status << " " << plain.out << plain.err
                 << "\ntraced: " << traced.status << " " << traced.out << traced.err);
    CHECK(traced.status == plain.status);
    CHECK(traced.out == plain.out);
    CHECK(traced.err == plain.err);
    return traced;
}

bool can_mount() { return run("unshare -m true").status == 0; }

} // namespace

TEST_CASE("fault: a program forking 50 children") {
    for (int i = 0; i < repeat(); ++i) {
        ScratchDir dir("fault-fork");
        const auto r = same_as_untraced(dir / "t.trace", "fork50");
        CHECK(r.out == "children=50 status_sum=147\n");
        CHECK(read_all(dir / "t.trace") == 50);
    }
}

TEST_CASE("fault: 16 threads allocating at once") {
    for (int i = 0; i < repeat(); ++i) {
        ScratchDir dir("fault-threads");
        same_as_untraced(dir / "t.trace", "threads16");
        const auto summary = summarize_trace(dir / "t.trace");
        CHECK(summary.total_allocations >= 16 * 20000 * 2);
        CHECK(summary.total_frees >= 16 * 20000 * 2);
        CHECK(summary.warnings.empty());
    }
}

TEST_CASE("fault: exec replaces the image, the trace continues") {
    for (int i = 0; i < repeat(); ++i) {
        ScratchDir dir("fault-exec");
        const auto r = same_as_untraced(dir / "t.trace", "exec");
        CHECK(r.status == 4);
        memopt::trace::TraceReader reader(dir / "t.trace");
        memopt::trace::Event event;
        while (reader.next(event)) {
        }
        CHECK(reader.metadata().images.size() == 2);
        CHECK(summarize_trace(dir / "t.trace").peak_heap_bytes >= (2u << 20));
    }
}

TEST_CASE("fault: exit() called from a thread while the main thread allocates") {
    for (int i = 0; i < repeat(); ++i) {
        ScratchDir dir("fault-exit-thread");
        const auto r = same_as_untraced(dir / "t.trace", "exit-thread");
        CHECK(r.status == 3);
        const auto summary = summarize_trace(dir / "t.trace");
        CHECK(summary.exit_known);
        CHECK(summary.exit_code == 3);
    }
}

TEST_CASE("fault: SIGKILL keeps what was flushed") {
    for (int i = 0; i < repeat(); ++i) {
        ScratchDir dir("fault-kill");
        const auto r = same_as_untraced(dir / "t.trace", "sigkill");
        CHECK(r.status == 137);
        const auto summary = summarize_trace(dir / "t.trace");
        CHECK(summary.killed_by_signal);
        CHECK(summary.peak_heap_bytes >= (5u << 20)); // allocated 250 ms before the kill
    }
}

TEST_CASE("fault: forked child that execs a forking program") {
    ScratchDir dir("fault-spawn");
    const auto r = same_as_untraced(dir / "t.trace", "spawn-child");
    CHECK(r.out == "children=50 status_sum=147\nchild status 0\n");
    CHECK(read_all(dir / "t.trace") >= 51);
}

TEST_CASE("fault: disk full while tracing (64 KiB tmpfs)") {
    if (!can_mount()) {
        WARN("cannot create a mount namespace here; disk-full test skipped");
        return;
    }
    ScratchDir dir("fault-full");
    std::filesystem::create_directory(dir / "small");
    const auto plain = run(fmt::format("{} churn 300000", kFault));
    // Plain chunks (MEMOPT_COMPRESS=0): compressed, the churn's trace would not fill the disk.
    const auto r = run(fmt::format("unshare -m sh -c 'mount -t tmpfs -o size=64k tmpfs {0} && MEMOPT_COMPRESS=0 {1} record -q -o {0}/t.trace -- {2} churn 300000; "
                                   "echo status=$?; ls -l {0} >&2'",
                                   quote((dir / "small").string()), kMemopt, kFault));
    INFO(r.out << r.err);
    CHECK(r.out == plain.out + "status=0\n");
    // One message from the tracer, which then stays quiet; the program is unharmed.
    std::size_t tracer_lines = 0;
    for (std::size_t at = r.err.find("memopt: "); at != std::string::npos; at = r.err.find("memopt: ", at + 1)) ++tracer_lines;
    CHECK(tracer_lines == 1);
}

TEST_CASE("fault: unwritable output directory") {
    ScratchDir dir("fault-ro");
    const std::string marker = (dir / "ran").string();
    if (can_mount()) {
        // Known up front: record refuses before starting the command.
        std::filesystem::create_directory(dir / "ro");
        const auto r = run(fmt::format("unshare -m sh -c 'mount -t tmpfs -o ro tmpfs {0} && {1} record -o {0}/t.trace -- touch {2}'",
                                       quote((dir / "ro").string()), kMemopt, quote(marker)));
        CHECK(r.status == 2);
        CHECK(r.err.find("not writable") != std::string::npos);
        CHECK_FALSE(std::filesystem::exists(marker));
    }
    // Found out later (a child cannot create its trace): it runs on untraced, one message each.
    const std::string as_nobody = "setpriv --reuid=65534 --regid=65534 --clear-groups --";
    // User nobody must be able to run the build: not so when the checkout lies under a
    // directory only root may enter (/root, or a chroot whose / is 0700).
    const bool nobody_can_run = ::geteuid() == 0 && run("setpriv --help >/dev/null").status == 0 &&
                                run(fmt::format("{} {} --version >/dev/null 2>&1", as_nobody, kMemopt)).status == 0;
    if (!nobody_can_run) WARN("skipped the unprivileged half: user nobody cannot run " << kMemopt);
    if (nobody_can_run) {
        std::filesystem::create_directory(dir / "shared");
        REQUIRE(::chown((dir / "shared").c_str(), 65534, 65534) == 0);
        const auto plain = run(fmt::format("{} {} fork50", as_nobody, kFault));
        const auto r = run(fmt::format("{} {} record -q -o {}/t.trace -- sh -c 'chmod 555 {}; {} fork50'", as_nobody, kMemopt,
                                       quote((dir / "shared").string()), quote((dir / "shared").string()), kFault));
        INFO(r.err);
        CHECK(r.status == plain.status);
        CHECK(r.out == plain.out);
        std::size_t lines = 0;
        for (std::size_t at = r.err.find("memopt: "); at != std::string::npos; at = r.err.find("memopt: ", at + 1)) ++lines;
        CHECK(lines >= 1);
        CHECK(lines <= 3); // one per process that lost its trace, not one per child or event
        CHECK_NOTHROW(summarize_trace(dir / "shared" / "t.trace"));
    }
}

TEST_CASE("security: trace files are 0600 and never written through a symlink") {
    ScratchDir dir("fault-perm");
    const auto r = run(fmt::format("umask 000; {} record -q -o {} -- {} fork50", kMemopt, quote((dir / "t.trace").string()), kFault));
    REQUIRE(r.status == 0);
    std::size_t files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
        struct stat info {};
        REQUIRE(::lstat(entry.path().c_str(), &info) == 0);
        CHECK((info.st_mode & 0777) == 0600);
        ++files;
    }
    CHECK(files == 51);
    // A symlink planted where a child's trace will go is not followed: that child runs untraced.
    std::filesystem::create_symlink(dir / "victim", dir / "s.trace");
    const auto refused = run(fmt::format("{} record -q -o {} -- true", kMemopt, quote((dir / "s.trace").string())));
    CHECK(refused.status == 2);
    CHECK_FALSE(std::filesystem::exists(dir / "victim"));
}
