// OutputDirectory: a failing command removes what it created there, never what existed before,
// and never creates a parent.
#include "common/error.h"
#include "tests/support/run.h"
#include "transforms/output_dir.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <sys/stat.h>

namespace fs = std::filesystem;
using memopt::test::read_file;
using memopt::test::ScratchDir;
using memopt::transforms::OutputDirectory;

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
        OutputDirectory out(target);
    } catch (const memopt::Error& e) {
        return e.what();
    }
    return "";
}

} // namespace

TEST_CASE("output directory: created under its name and kept") {
    ScratchDir dir("memopt-outdir-new");
    std::ofstream(dir / "mine.txt") << "user's";
    {
        OutputDirectory out(dir / "out/"); // a trailing slash names the same directory
        CHECK(out.path() == dir / "out");
        CHECK(fs::is_directory(dir / "out"));
        fs::create_directories(out.path() / "step0");
        std::ofstream(out.path() / "step0" / "a.py") << "x";
        out.keep();
    }
    CHECK(read_file(dir / "out" / "step0" / "a.py") == "x");
    CHECK(entries(dir.path()) == std::set<std::string>{"mine.txt", "out"});
}

TEST_CASE("output directory: not kept, only what it created goes") {
    ScratchDir dir("memopt-outdir-fail");
    std::ofstream(dir / "mine.txt") << "user's";
    fs::create_directory(dir / "empty");
    const ino_t before = inode(dir / "empty");
    for (const char* name : {"out", "empty"}) {
        OutputDirectory out(dir / name);
        fs::create_directories(out.path() / "step0" / "deep");
        std::ofstream(out.path() / "half.json") << "{";
    }
    CHECK(entries(dir.path()) == std::set<std::string>{"empty", "mine.txt"});
    CHECK(fs::is_empty(dir / "empty"));
    CHECK(inode(dir / "empty") == before); // the user's directory itself stays
    CHECK(read_file(dir / "mine.txt") == "user's");
}

TEST_CASE("output directory: refusals") {
    ScratchDir dir("memopt-outdir-refuse");
    fs::create_directory(dir / "full");
    std::ofstream(dir / "full" / "keep.txt") << "k";
    std::ofstream(dir / "file") << "f";
    fs::create_directory(dir / "elsewhere");
    fs::create_directory_symlink(dir / "elsewhere", dir / "link");
    CHECK(refusal(dir / "full").find("exists and is not empty") != std::string::npos);
    CHECK(refusal(dir / "file").find("exists and is not a directory") != std::string::npos);
    CHECK(refusal(dir / "link").find("symbolic link") != std::string::npos);
    CHECK(refusal(dir / "missing" / "x") == "output directory " + (dir / "missing").string() + " does not exist");
    CHECK(read_file(dir / "full" / "keep.txt") == "k");
    CHECK(read_file(dir / "file") == "f");
    CHECK(entries(dir.path()) == std::set<std::string>{"elsewhere", "file", "full", "link"});
    CHECK(fs::is_empty(dir / "elsewhere"));
}
