// memopt report with inputs and outputs that are not what they should be (issue 12, items
// 14-17): FIFOs, symlinks, other users' umasks, out-of-range options, profiles that are too
// big or incomplete. Each gives one line on stderr and exit status 2, never a hang or a
// write through a link.
#include "tests/reports/common.h"

#include <algorithm>
#include <sys/stat.h>

using namespace memopt::test;

namespace {

const std::string kMemopt = quote(MEMOPT_BINARY);

// `timeout` turns a hang into a failure with status 124 instead of a stuck suite.
RunResult report(const std::string& arguments) { return run(fmt::format("timeout 30 {} report {}", kMemopt, arguments)); }

void check_refused(const RunResult& result, const std::string& expected) {
    INFO(result.err);
    CHECK(result.status == 2);
    CHECK(std::count(result.err.begin(), result.err.end(), '\n') == 1);
    CHECK(result.err.rfind("memopt report: ", 0) == 0);
    CHECK(result.err.find(expected) != std::string::npos);
}

mode_t mode_of(const std::filesystem::path& path) {
    struct stat info {};
    REQUIRE(::lstat(path.c_str(), &info) == 0);
    return info.st_mode & 07777;
}

} // namespace

TEST_CASE("report: a FIFO as input or output is refused at once, not waited on (item 14)") {
    ScratchDir dir("report-fifo");
    REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
    check_refused(report(quote((dir / "fifo").string())), "not a regular file");
    const std::string trace = quote(recorded_trace().string());
    check_refused(report(trace + " -o " + quote((dir / "fifo").string())), "FIFO");
    check_refused(report(trace + " --force -o " + quote((dir / "fifo").string())), "FIFO");
    check_refused(report("/dev/zero"), "not a regular file");
    check_refused(report(quote(dir.path().string())), "is a directory");
}

TEST_CASE("report: -o never writes through a symlink, even with --force (item 15)") {
    ScratchDir dir("report-link");
    std::ofstream(dir / "victim") << "keep";
    std::filesystem::create_symlink(dir / "victim", dir / "link");
    const std::string trace = quote(recorded_trace().string());
    check_refused(report(trace + " --force -o " + quote((dir / "link").string())), "symbolic link");
    check_refused(report(trace + " -o " + quote((dir / "link").string())), "symbolic link");
    CHECK(read_file(dir / "victim") == "keep");
    std::filesystem::create_symlink(dir / "absent", dir / "dangling");
    check_refused(report(trace + " --force -o " + quote((dir / "dangling").string())), "symbolic link");
    CHECK_FALSE(std::filesystem::exists(dir / "absent"));
}

TEST_CASE("report: outputs get mode 0600 whatever the umask, and replace a file only with --force (item 15)") {
    ScratchDir dir("report-mode");
    const std::string trace = quote(recorded_trace().string());
    for (const char* format : {"text", "json", "html", "massif"}) {
        const auto out = dir / (std::string("r.") + format);
        const auto r = run(fmt::format("umask 000 && {} report {} --format {} -o {}", kMemopt, trace, format, quote(out.string())));
        INFO(format << ": " << r.err);
        REQUIRE(r.status == 0);
        CHECK(mode_of(out) == 0600);
    }
    check_refused(report(trace + " -o " + quote((dir / "r.text").string())), "use --force");
    std::ofstream(dir / "r.text") << "old";
    REQUIRE(report(trace + " --force -o " + quote((dir / "r.text").string())).status == 0);
    CHECK(read_file(dir / "r.text").find("peak heap") != std::string::npos);
    CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), {}) == 4); // no temporaries left
}

TEST_CASE("report: --top must be a positive count (item 17)") {
    const std::string trace = quote(recorded_trace().string());
    check_refused(report(trace + " --top -1"), "--top");
    check_refused(report(trace + " --top 0"), "--top");
    CHECK(report(trace + " --top 3").status == 0);
}

TEST_CASE("report: an incomplete or out-of-range profile is refused with the field named (item 16)") {
    ScratchDir dir("report-profile");
    std::ofstream(dir / "schema-only.json") << R"({"schema":"memopt.profile/1"})";
    check_refused(report(quote((dir / "schema-only.json").string())), "is missing");
    const std::string valid = R"({"schema":"memopt.profile/1","argv":[],"interpreter":{"optimize":0},"exit_status":0,)"
                              R"("duration_s":1.0,"peak_rss_bytes":1000})";
    CHECK(report(quote([&] { std::ofstream(dir / "ok.json") << valid; return (dir / "ok.json").string(); }())).status == 0);
    std::string huge = valid;
    huge.replace(huge.find("\"optimize\":0"), 12, "\"optimize\":1e308");
    std::ofstream(dir / "huge.json") << huge;
    const auto r = report(quote((dir / "huge.json").string()));
    check_refused(r, "interpreter.optimize");
    CHECK(r.out.find("-2147483648") == std::string::npos); // what 1e308 used to become
    std::ofstream(dir / "v2.json") << R"({"schema":"memopt.profile/2"})";
    check_refused(report(quote((dir / "v2.json").string())), "memopt.profile/1");
}

TEST_CASE("report: a profile past the size limit is refused quickly under a memory limit (item 16)") {
    // 20 MB of a plausible profile: it used to be parsed whole (1.8 GB for 100 MB) and end in
    // "internal error: std::bad_alloc" under a memory limit.
    ScratchDir dir("report-big");
    {
        std::ofstream out(dir / "big.json");
        out << R"({"schema":"memopt.profile/1","timeline":{"t_s":[)";
        const std::string chunk = "0.123456789,";
        for (std::size_t written = 0; written < 20u << 20; written += chunk.size()) out << chunk;
        out << "0]}}";
    }
    const auto r = run(fmt::format("ulimit -v 1000000 && timeout 30 {} report {}", kMemopt, quote((dir / "big.json").string())));
    check_refused(r, "larger than");
    CHECK(r.err.find("internal error") == std::string::npos);
}

TEST_CASE("probe: the profile is created like every other output (mode 0600, no symlink, checked first)") {
    ScratchDir dir("probe-output");
    std::ofstream(dir / "s.py") << "open('ran', 'w').write('yes')\n";
    std::ofstream(dir / "victim") << "keep";
    std::filesystem::create_symlink(dir / "victim", dir / "link.json");
    const auto linked = run(fmt::format("cd {} && {} probe --force -o link.json -- s.py", quote(dir.path().string()), kMemopt));
    INFO(linked.err);
    CHECK(linked.status == 2);
    CHECK(linked.err.find("symbolic link") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir / "ran")); // refused before the script ran
    CHECK(read_file(dir / "victim") == "keep");
    const auto made = run(fmt::format("cd {} && umask 000 && {} probe -o p.json -- s.py", quote(dir.path().string()), kMemopt));
    INFO(made.err);
    REQUIRE(made.status == 0);
    CHECK(mode_of(dir / "p.json") == 0600);
    CHECK(report(quote((dir / "p.json").string())).status == 0); // a real profile passes check_profile
}
