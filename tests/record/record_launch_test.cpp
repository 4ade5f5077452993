// `memopt record` and `memopt gate` as launchers: the traced program sees the signals and
// dispositions it sees untraced (each signal once), memopt outlives it, and peak RSS is the
// program's own (profiler/record/signal_relay.h, common/runner.h, docs/peak-rss.md).
#include "common/runner.h"
#include "reports/analysis/summary.h"
#include "tests/support/run.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <csignal>
#include <fmt/format.h>
#include <fstream>
#include <thread>

using memopt::test::quote;
using memopt::test::run;
using memopt::test::ScratchDir;
namespace runner = memopt::runner;

namespace {

const std::string kMemopt = MEMOPT_BINARY;
const std::string kPython = "/usr/bin/python3";

std::string record_prefix(const ScratchDir& dir) {
    return fmt::format("{} record -q -o {} --", kMemopt, quote((dir / "t.trace").string()));
}

// Prints the disposition of every catchable signal, one line.
const std::string kDispositions =
    "import signal\n"
    "names = sorted(s for s in signal.valid_signals() if s not in (signal.SIGKILL, signal.SIGSTOP))\n"
    "print(' '.join(f'{int(s)}:{signal.getsignal(s)}' for s in names))\n";

// Counts each delivery of INT, USR1 and TERM (the wakeup fd gets one byte per delivery, even
// when Python runs the handler once for two) until it has seen `want`, plus half a second in
// which a duplicate would arrive; writes READY first, prints the counts.
const std::string kCounter =
    "import os, signal, sys, time\n"
    "names = {signal.SIGINT: 'INT', signal.SIGUSR1: 'USR1', signal.SIGTERM: 'TERM'}\n"
    "counts = dict.fromkeys(names.values(), 0)\n"
    "r, w = os.pipe(); os.set_blocking(r, False); os.set_blocking(w, False)\n"
    "signal.set_wakeup_fd(w)\n"
    "for s in names: signal.signal(s, lambda *_: None)\n"
    "def drain():\n"
    "    try: data = os.read(r, 64)\n"
    "    except BlockingIOError: return\n"
    "    for b in data: counts[names[b]] += 1\n"
    "open(sys.argv[1], 'w').write('ready')\n"
    "end = time.time() + 20\n"
    "while time.time() < end and sum(counts.values()) < int(sys.argv[2]): time.sleep(0.01); drain()\n"
    "time.sleep(0.5); drain()\n"
    "print(' '.join(f'{k}={v}' for k, v in counts.items()))\n";

void wait_for_file(const std::filesystem::path& path) {
    for (int i = 0; i < 2000 && !std::filesystem::exists(path); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(std::filesystem::exists(path));
}

// memopt record of the counter in a process group of its own; `send` signals it once ready.
runner::Outcome record_counter(const ScratchDir& dir, int want, const std::function<void(pid_t memopt)>& send) {
    std::ofstream(dir / "counter.py") << kCounter;
    runner::Command command;
    command.argv = {kMemopt, "record", "-q", "-o", (dir / "t.trace").string(), "--", kPython,
                    (dir / "counter.py").string(), (dir / "ready").string(), std::to_string(want)};
    command.in = runner::Redirect::null();
    command.out = runner::Redirect::capture();
    command.err = runner::Redirect::capture();
    command.own_process_group = true;
    command.timeout = std::chrono::seconds(60);
    runner::Process memopt(command);
    wait_for_file(dir / "ready");
    send(memopt.pid());
    return memopt.reap();
}

} // namespace

TEST_CASE("gate --max-peak 3MB passes /bin/true (memopt's own memory is not counted)") {
    const auto r = run(kMemopt + " gate --max-peak 3MB -- /bin/true");
    CHECK(r.status == 0);
    CHECK(r.err.find("PASS") != std::string::npos);
}

TEST_CASE("peak RSS is the program's, traced as untraced") {
    ScratchDir dir("record-peak");
    const std::string script = "b = b'x' * (64 << 20)";
    runner::Command untraced;
    untraced.argv = {kPython, "-c", script};
    const auto plain = runner::run(untraced);
    const auto r = run(fmt::format("{} {} -c {}", record_prefix(dir), kPython, quote(script)));
    REQUIRE(r.status == 0);
    const auto summary = memopt::reports::summarize_trace(dir / "t.trace");
    CHECK(plain.peak_rss_bytes >= (64u << 20));
    CHECK(summary.peak_rss_bytes >= plain.peak_rss_bytes * 9 / 10);
    CHECK(summary.peak_rss_bytes < plain.peak_rss_bytes + (40u << 20)); // the tracer's own, not memopt's
}

TEST_CASE("the program gets the dispositions it gets untraced") {
    ScratchDir dir("record-dispositions");
    std::ofstream(dir / "d.py") << kDispositions;
    const std::string program = kPython + " " + quote((dir / "d.py").string());
    for (const std::string setup : {"", "trap '' INT; ", "trap '' INT HUP USR1 TERM CHLD; "}) {
        const auto untraced = run(fmt::format("sh -c {}", quote(setup + "exec " + program)));
        const auto traced = run(fmt::format("sh -c {}", quote(setup + "exec " + record_prefix(dir) + " " + program)));
        INFO("setup: " << setup);
        REQUIRE(untraced.status == 0);
        CHECK(traced.status == 0);
        CHECK(traced.out == untraced.out);
        std::filesystem::remove(dir / "t.trace");
    }
    // The case of the issue, spelled out: an inherited SIG_IGN for SIGINT stays ignored.
    const auto r = run(fmt::format("sh -c {}", quote("trap '' INT; exec " + record_prefix(dir) + " " + kPython +
                                                     " -c 'import signal; print(signal.getsignal(signal.SIGINT) == signal.SIG_IGN)'")));
    CHECK(r.out == "True\n");
}

TEST_CASE("a SIGINT sent to the process group reaches the program once, and memopt forwards none") {
    ScratchDir dir("record-sigint");
    const auto outcome = record_counter(dir, 1, [](pid_t memopt) {
        ::kill(memopt, SIGINT); // memopt's alone: not forwarded (the terminal signals the group)
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        ::kill(-::getpgid(memopt), SIGINT); // what Ctrl-C does
    });
    CHECK(outcome.status() == 0); // memopt waited for the program, which survived its handler
    CHECK(outcome.out == "INT=1 USR1=0 TERM=0\n");
    CHECK(memopt::reports::summarize_trace(dir / "t.trace").exit_known);
}

TEST_CASE("SIGUSR1 and SIGTERM sent to memopt reach the program, and memopt outlives it") {
    ScratchDir dir("record-forward");
    const auto outcome = record_counter(dir, 2, [](pid_t memopt) {
        ::kill(memopt, SIGUSR1);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        ::kill(memopt, SIGTERM);
    });
    CHECK(outcome.status() == 0);
    CHECK(outcome.out == "INT=0 USR1=1 TERM=1\n");
    CHECK(memopt::reports::summarize_trace(dir / "t.trace").exit_known);
}

TEST_CASE("the exit status and the killing signal pass through as untraced") {
    ScratchDir dir("record-status");
    for (const std::string script : {"exit 7", "kill -TERM $$", "kill -INT $$"}) {
        const auto untraced = run(fmt::format("sh -c {}", quote(script)));
        const auto traced = run(fmt::format("{} sh -c {}", record_prefix(dir), quote(script)));
        INFO(script);
        CHECK(traced.status == untraced.status);
        std::filesystem::remove(dir / "t.trace");
    }
}

TEST_CASE("a program that cannot be executed is a one-line error naming it, and leaves no trace") {
    ScratchDir dir("record-noexec");
    std::ofstream(dir / "bad") << "\x7f" "ELF not really";
    std::filesystem::permissions(dir / "bad", std::filesystem::perms::owner_all);
    const auto r = run(fmt::format("{} {}", record_prefix(dir), quote((dir / "bad").string())));
    CHECK(r.status == 2);
    CHECK(r.err.find("cannot run") != std::string::npos);
    CHECK(r.err.find("bad") != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK_FALSE(std::filesystem::exists(dir / "t.trace"));
}
