// StagedDirectory: an output directory appears whole or not at all, and nothing that existed
// before is ever deleted.
#include "common/error.h"
#include "tests/support/run.h"
#include "transforms/staged_dir.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <sys/stat.h>

namespace fs = std::filesystem;
using memopt::test::read_file;
using memopt::test::ScratchDir;
using memopt::transforms::StagedDirectory;

namespace {

std::set<std::string> entries(const fs::path& dir) {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
    return names;
}

ino_t inode(const fs::path& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_ino;
}

std::string refusal(const fs::path& target) {
    try {
        StagedDirectory staged(target);
    } catch (const memopt::Error& e) {
        return e.what();
    }
    return "";
}

} // namespace

TEST_CASE("staged directory: published whole under its name") {
    ScratchDir dir("memopt-staged-new");
    std::ofstream(dir / "mine.txt") << "user's";
    {
        StagedDirectory staged(dir / "out");
        CHECK(staged.work().parent_path() == dir.path());
        CHECK(!fs::exists(dir / "out")); // nothing under the name while it is written
        fs::create_directories(staged.work() / "step0");
        std::ofstream(staged.work() / "step0" / "a.py") << "x";
        CHECK(staged.published(staged.work() / "step0" / "a.py") == dir / "out" / "step0" / "a.py");
        staged.publish();
    }
    CHECK(read_file(dir / "out" / "step0" / "a.py") == "x");
    CHECK(entries(dir.path()) == std::set<std::string>{"mine.txt", "out"});
}

TEST_CASE("staged directory: unpublished, only what it created goes") {
    ScratchDir dir("memopt-staged-fail");
    std::ofstream(dir / "mine.txt") << "user's";
    fs::create_directory(dir / "empty");
    const ino_t before = inode(dir / "empty");
    for (const char* name : {"out", "empty"}) {
        StagedDirectory staged(dir / name);
        std::ofstream(staged.work() / "half.json") << "{";
    }
    CHECK(entries(dir.path()) == std::set<std::string>{"empty", "mine.txt"});
    CHECK(fs::is_empty(dir / "empty"));
    CHECK(inode(dir / "empty") == before);
}

TEST_CASE("staged directory: an existing empty directory is kept and filled") {
    ScratchDir dir("memopt-staged-empty");
    fs::create_directory(dir / "out");
    const ino_t before = inode(dir / "out");
    StagedDirectory staged(dir / "out/"); // a trailing slash names the same directory
    std::ofstream(staged.work() / "steps.json") << "{}";
    staged.publish();
    CHECK(inode(dir / "out") == before);
    CHECK(read_file(dir / "out" / "steps.json") == "{}");
    CHECK(entries(dir.path()) == std::set<std::string>{"out"});
}

TEST_CASE("staged directory: refusals") {
    ScratchDir dir("memopt-staged-refuse");
    fs::create_directory(dir / "full");
    std::ofstream(dir / "full" / "keep.txt") << "k";
    std::ofstream(dir / "file") << "f";
    fs::create_directory_symlink(dir / "elsewhere", dir / "link");
    CHECK(refusal(dir / "full").find("exists and is not empty") != std::string::npos);
    CHECK(refusal(dir / "file").find("exists and is not a directory") != std::string::npos);
    CHECK(refusal(dir / "link").find("symbolic link") != std::string::npos);
    CHECK(refusal(dir / "missing" / "x") == "output directory " + (dir / "missing").string() + " does not exist");
    CHECK(read_file(dir / "full" / "keep.txt") == "k");
    CHECK(entries(dir.path()) == std::set<std::string>{"file", "full", "link"});
    CHECK(!fs::exists(dir / "missing"));
}
