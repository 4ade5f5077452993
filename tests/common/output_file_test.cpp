// common/output_file and common/input_file: how every output is created and every input
// opened (symlinks, FIFOs, modes whatever the umask, no half-written files).
#include "common/error.h"
#include "common/input_file.h"
#include "common/output_file.h"
#include "tests/support/run.h"

#include <catch2/catch.hpp>
#include <csignal>
#include <sys/resource.h>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

using memopt::check_output_file;
using memopt::write_output_file;
using memopt::test::read_file;
using memopt::test::ScratchDir;

namespace {

mode_t mode_of(const std::filesystem::path& path) {
    struct stat info {};
    REQUIRE(::lstat(path.c_str(), &info) == 0);
    return info.st_mode & 07777;
}

// Sets the umask for one scope.
struct Umask {
    explicit Umask(mode_t mask) : previous(::umask(mask)) {}
    ~Umask() { ::umask(previous); }
    mode_t previous;
};

std::size_t entries(const std::filesystem::path& dir) {
    return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(dir), {}));
}

} // namespace

TEST_CASE("output file: created with exactly the mode asked, whatever the umask") {
    ScratchDir dir("output-mode");
    {
        Umask open_mask(0);
        write_output_file(dir / "a.txt", "hello\n", false);
    }
    CHECK(mode_of(dir / "a.txt") == 0600);
    CHECK(read_file(dir / "a.txt") == "hello\n");
    {
        Umask strict_mask(077);
        write_output_file(dir / "page.html", "<p>", false, 0644);
    }
    CHECK(mode_of(dir / "page.html") == 0644);
    CHECK(entries(dir.path()) == 2); // no temporary left behind
}

TEST_CASE("output file: an existing file is replaced only with force") {
    ScratchDir dir("output-force");
    write_output_file(dir / "out", "one", false);
    CHECK_THROWS_WITH(write_output_file(dir / "out", "two", false), Catch::Contains("already exists (use --force"));
    CHECK(read_file(dir / "out") == "one");
    write_output_file(dir / "out", "two", true);
    CHECK(read_file(dir / "out") == "two");
    CHECK(entries(dir.path()) == 1);
}

TEST_CASE("output file: a symlink is refused even with force, its target untouched") {
    ScratchDir dir("output-link");
    std::ofstream(dir / "victim") << "keep";
    std::filesystem::create_symlink(dir / "victim", dir / "link");
    std::filesystem::create_symlink(dir / "nowhere", dir / "dangling");
    for (const bool force : {false, true}) {
        CHECK_THROWS_WITH(write_output_file(dir / "link", "x", force), Catch::Contains("symbolic link"));
        CHECK_THROWS_WITH(write_output_file(dir / "dangling", "x", force), Catch::Contains("symbolic link"));
    }
    CHECK(read_file(dir / "victim") == "keep");
    CHECK_FALSE(std::filesystem::exists(dir / "nowhere"));
    CHECK(std::filesystem::is_symlink(dir / "link"));
}

TEST_CASE("output file: a FIFO, a directory, a missing directory are refused without blocking") {
    ScratchDir dir("output-fifo");
    REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
    ::alarm(20); // a blocking open of the FIFO would hang the test: fail it instead
    CHECK_THROWS_WITH(write_output_file(dir / "fifo", "x", true), Catch::Contains("FIFO"));
    ::alarm(0);
    CHECK_THROWS_WITH(write_output_file(dir.path(), "x", true), Catch::Contains("directory"));
    CHECK_THROWS_WITH(write_output_file(dir / "no/such/out", "x", true), Catch::Contains("does not exist"));
    CHECK_THROWS_WITH(check_output_file(dir / "fifo", true), Catch::Contains("FIFO"));
    CHECK_NOTHROW(check_output_file(dir / "new", false));
    CHECK_FALSE(std::filesystem::exists(dir / "new")); // checking creates nothing
}

TEST_CASE("output file: a failed write leaves neither a partial output nor a temporary") {
    ScratchDir dir("output-full");
    // /dev/full-like failure: RLIMIT_FSIZE makes write() fail with EFBIG once past 1 KiB.
    struct rlimit old {};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
    struct rlimit small = old;
    small.rlim_cur = 1024;
    const auto previous = std::signal(SIGXFSZ, SIG_IGN);
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    std::ofstream(dir / "out") << "old";
    CHECK_THROWS_WITH(write_output_file(dir / "out", std::string(4096, 'x'), true), Catch::Contains("cannot write"));
    ::setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, previous);
    CHECK(read_file(dir / "out") == "old");
    CHECK(entries(dir.path()) == 1);
}

TEST_CASE("input file: only regular files, opened without blocking, read with a bound") {
    ScratchDir dir("input-file");
    std::ofstream(dir / "data") << "0123456789";
    memopt::InputFile file(dir / "data");
    CHECK(file.size() == 10);
    CHECK(file.head(4) == "0123");
    CHECK(file.read_all(10, "a test") == "0123456789");
    CHECK_THROWS_WITH(file.read_all(9, "a test"), Catch::Contains("larger than") && Catch::Contains("a test"));
    REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
    ::alarm(20);
    CHECK_THROWS_WITH(memopt::InputFile(dir / "fifo"), Catch::Contains("not a regular file"));
    ::alarm(0);
    CHECK_THROWS_WITH(memopt::InputFile("/dev/zero"), Catch::Contains("not a regular file"));
    CHECK_THROWS_WITH(memopt::InputFile(dir.path()), Catch::Contains("is a directory"));
    CHECK_THROWS_WITH(memopt::InputFile(dir / "missing"), Catch::Contains("not found"));
    std::filesystem::create_symlink(dir / "data", dir / "link");
    CHECK(memopt::InputFile(dir / "link").size() == 10); // a link to a regular input is fine
}
