// The one program runner (common/runner.h): redirects, cwd, env, timeout, exit status and
// signal, errors, and that the peak RSS is the launched program's, not this process's.
#include "common/error.h"
#include "common/runner.h"
#include "tests/support/run.h"

#include <catch2/catch.hpp>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <unistd.h>

using namespace memopt;
using runner::Command;
using runner::Redirect;

namespace {

constexpr std::uint64_t kMiB = 1 << 20;
const std::string kPython = "/usr/bin/python3";

Command captured(std::vector<std::string> argv) {
    Command command;
    command.argv = std::move(argv);
    command.in = Redirect::null();
    command.out = Redirect::capture();
    command.err = Redirect::capture();
    return command;
}

Command shell(const std::string& script) { return captured({"/bin/sh", "-c", script}); }

} // namespace

TEST_CASE("runner: captures stdout and stderr apart and passes the exit status") {
    const auto outcome = runner::run(shell("echo out; echo err >&2; exit 3"));
    CHECK(outcome.out == "out\n");
    CHECK(outcome.err == "err\n");
    CHECK(outcome.exit_code == 3);
    CHECK(outcome.signal == 0);
    CHECK(outcome.status() == 3);
    CHECK_FALSE(outcome.timed_out);
    CHECK(outcome.wall_s > 0);
}

TEST_CASE("runner: reports the signal that ended the program") {
    const auto outcome = runner::run(shell("kill -TERM $$"));
    CHECK(outcome.signal == SIGTERM);
    CHECK(outcome.status() == 128 + SIGTERM);
}

TEST_CASE("runner: stdin, stdout and stderr from and to files, and memopt's own descriptors") {
    test::ScratchDir dir("runner-files");
    std::ofstream(dir / "in.txt") << "from a file\n";
    Command command = captured({"/bin/sh", "-c", "cat; echo to-err >&2; echo kept >&7"});
    command.in = Redirect::file(dir / "in.txt");
    command.out = Redirect::file(dir / "out.txt");
    const int side = ::open((dir / "side.txt").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    REQUIRE(side >= 0);
    command.err = Redirect::descriptor(side);
    command.keep_fds = {{side, 7}};
    const auto outcome = runner::run(command);
    ::close(side);
    CHECK(outcome.status() == 0);
    CHECK(test::read_file(dir / "out.txt") == "from a file\n");
    CHECK(test::read_file(dir / "side.txt") == "to-err\nkept\n");
}

TEST_CASE("runner: /dev/null and inherited streams") {
    Command command = shell("cat; echo gone");
    command.in = Redirect::null();
    command.out = Redirect::null();
    const auto outcome = runner::run(command);
    CHECK(outcome.status() == 0);
    CHECK(outcome.out.empty());
}

TEST_CASE("runner: runs in the given directory and finds relative programs there") {
    test::ScratchDir dir("runner-cwd");
    std::ofstream(dir / "tool.sh") << "#!/bin/sh\npwd\n";
    std::filesystem::permissions(dir / "tool.sh", std::filesystem::perms::owner_all);
    Command command = captured({"./tool.sh"});
    command.cwd = dir.path();
    const auto outcome = runner::run(command);
    CHECK(outcome.status() == 0);
    CHECK(outcome.out == std::filesystem::canonical(dir.path()).string() + "\n");
}

TEST_CASE("runner: adds to, or replaces, the environment, and can hand the program its pid") {
    ::setenv("MEMOPT_RUNNER_TEST_KEPT", "kept", 1);
    Command added = shell("echo $MEMOPT_RUNNER_TEST_KEPT $EXTRA; [ \"$OWN_PID\" = \"$$\" ] && echo pid-ok");
    added.env = {{"EXTRA", "extra"}};
    added.pid_variable = "OWN_PID";
    CHECK(runner::run(added).out == "kept extra\npid-ok\n");

    Command replaced = captured({"/usr/bin/env"});
    replaced.env = {{"ONLY", "this"}};
    replaced.replace_env = true;
    CHECK(runner::run(replaced).out == "ONLY=this\n");
}

TEST_CASE("runner: a timeout kills the program and says so") {
    Command command = shell("sleep 30");
    command.timeout = std::chrono::milliseconds(200);
    const auto outcome = runner::run(command);
    CHECK(outcome.timed_out);
    CHECK(outcome.signal == SIGKILL);
    CHECK(outcome.wall_s < 20);
}

TEST_CASE("runner: a timeout kills the program's whole process group when it has one") {
    Command command = shell("sleep 30 & echo $!; wait");
    command.own_process_group = true;
    command.timeout = std::chrono::milliseconds(300);
    const auto outcome = runner::run(command);
    CHECK(outcome.timed_out);
    const pid_t grandchild = std::stoi(outcome.out);
    // Gone, or a zombie waiting for init: not sleeping any more. SIGKILL to another process
    // is not synchronous: give it up to 5 s to be dealt with.
    std::string stat;
    for (int i = 0; i < 500; ++i) {
        stat = test::read_file("/proc/" + std::to_string(grandchild) + "/stat");
        if (stat.empty() || stat.find(") Z") != std::string::npos) break;
        ::usleep(10'000);
    }
    INFO(stat);
    CHECK((stat.empty() || stat.find(") Z") != std::string::npos));
}

TEST_CASE("runner: errors name the program") {
    CHECK_THROWS_WITH(runner::run(captured({"no-such-program-xyz"})), Catch::Contains("no-such-program-xyz"));
    Command missing_cwd = captured({"/bin/true"});
    missing_cwd.cwd = "/nonexistent/dir";
    CHECK_THROWS_WITH(runner::run(missing_cwd), Catch::Contains("/bin/true") && Catch::Contains("/nonexistent/dir"));
    Command bad_file = captured({"/bin/true"});
    bad_file.out = Redirect::file("/nonexistent/dir/out");
    CHECK_THROWS_AS(runner::run(bad_file), Error);
    test::ScratchDir dir("runner-noexec");
    std::ofstream(dir / "bad") << "\x7f" "ELF garbage";
    std::filesystem::permissions(dir / "bad", std::filesystem::perms::owner_all);
    CHECK_THROWS_WITH(runner::run(captured({(dir / "bad").string()})), Catch::Contains("bad"));
}

TEST_CASE("runner: changes no inherited disposition (an ignored signal stays ignored)") {
    struct sigaction ignore {}, old {};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGUSR2, &ignore, &old);
    const auto outcome = runner::run(captured({kPython, "-c", "import signal; print(signal.getsignal(signal.SIGUSR2) == signal.SIG_IGN)"}));
    ::sigaction(SIGUSR2, &old, nullptr);
    CHECK(outcome.out == "True\n");
}

TEST_CASE("runner: peak RSS is the launched program's, never this process's") {
    // This process holds 100 MiB (touched); a fork or vfork would report it for /bin/true.
    std::vector<char> ballast(100 * kMiB);
    std::memset(ballast.data(), 1, ballast.size());
    const auto small = runner::run(captured({"/bin/true"}));
    CHECK(small.peak_rss_bytes > 0);
    CHECK(small.peak_rss_bytes < 3 * kMiB);

    const auto big = runner::run(captured({kPython, "-c", "b = b'x' * (64 << 20)"}));
    CHECK(big.status() == 0);
    CHECK(big.peak_rss_bytes >= 64 * kMiB);
    CHECK(big.peak_rss_bytes < 100 * kMiB);
    CHECK(ballast[12345] == 1);
}

TEST_CASE("runner: shell_words quotes what a shell would split") {
    CHECK(runner::shell_words({"a", "b c", "it's"}) == "a 'b c' 'it'\\''s'");
}

// Last in this file: from then on the runner gives every program an ignored SIGCHLD, as it
// should for a memopt that was started with it.
TEST_CASE("runner: an ignored SIGCHLD stays ignored for the program, and its status is still read") {
    struct sigaction ignore {}, old {};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGCHLD, &ignore, &old);
    const auto outcome = runner::run(captured({kPython, "-c",
                                               "import signal, sys; sys.exit(5 if signal.getsignal(signal.SIGCHLD) == signal.SIG_IGN else 6)"}));
    ::sigaction(SIGCHLD, &old, nullptr);
    CHECK(outcome.status() == 5);
}
