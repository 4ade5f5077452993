// End-to-end: `memopt optimize` on adversarial programs (issue 13). Each asserts that the
// final program behaves exactly as the original (both run on fresh copies of the inputs and
// compared), or that optimize refused with a clear message - and that the user's files are
// byte-identical and still present afterwards.
#include "tests/support/run.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>

namespace fs = std::filesystem;
using memopt::test::quote;
using memopt::test::read_file;
using memopt::test::run;
using memopt::test::RunResult;
using memopt::test::ScratchDir;

namespace {

const std::string kMemopt = MEMOPT_BIN;
const std::string kPy = "/usr/bin/python3";

void write(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
}

// The user's project: SCRIPT and its inputs in DIR/proj, optimize's output in DIR/out.
struct Project {
    ScratchDir dir{"memopt-sandbox-e2e"};
    fs::path proj = dir / "proj";
    std::map<std::string, std::string> inputs;

    void add(const std::string& name, const std::string& text) {
        write(proj / name, text);
        inputs[name] = text;
    }
    RunResult optimize(const std::string& script, const std::string& options, const std::string& args,
                       const std::string& out = "out") const {
        return run("cd " + quote(proj.string()) + " && " + kMemopt + " optimize " + script + " -o " +
                   quote((dir / out).string()) + " --runs 1 --no-probe " + options + " -- " + args);
    }
    // The user's files: byte-identical and all still there; nothing new beside them.
    void check_untouched() const {
        std::size_t files = 0;
        for (const auto& entry : fs::recursive_directory_iterator(proj))
            if (entry.is_regular_file() && entry.path().parent_path().filename() != "__pycache__") ++files;
        CHECK(files == inputs.size());
        for (const auto& [name, text] : inputs) {
            INFO(name);
            CHECK(read_file(proj / name) == text);
        }
    }
    // Runs `program` with `args` in a fresh copy of the project; stdout, exit status and every file.
    std::string behaviour(const fs::path& program, const std::string& args, const std::string& copy) const {
        const fs::path where = dir / copy;
        fs::copy(proj, where, fs::copy_options::recursive);
        const auto r = run("cd " + quote(where.string()) + " && " + kPy + " " + quote(program.string()) + " " + args);
        std::string seen = "status " + std::to_string(r.status) + "\nstdout " + r.out;
        for (const auto& entry : fs::recursive_directory_iterator(where))
            if (entry.is_regular_file() && entry.path().parent_path().filename() != "__pycache__")
                seen += "\n" + entry.path().lexically_relative(where).string() + ": " + read_file(entry.path());
        return seen;
    }
    void check_same_behaviour(const std::string& script, const std::string& args) const {
        const std::string original = behaviour(proj / script, args, "run-original");
        const std::string optimized = behaviour(dir / "out" / "final" / script, args, "run-final");
        CHECK(optimized == original);
    }

    // steps.json names the comparison `method` and steps.md says `summary`
    void check_comparison(const std::string& method, const std::string& summary) const {
        CHECK(read_file(dir / "out" / "steps.json").find("\"method\": \"" + method + "\"") != std::string::npos);
        CHECK(read_file(dir / "out" / "steps.md").find(summary) != std::string::npos);
    }
};

} // namespace

TEST_CASE("sandbox e2e: a script reading data.csv by a relative path optimizes") {
    Project p;
    p.add("app.py", "import json\nrows = open('data.csv').read().split()\nprint(sum(int(r) for r in rows[1:]))\n");
    p.add("data.csv", "n\n1\n2\n3\n");
    const auto r = p.optimize("app.py", "--passes dead-data", "");
    INFO(r.err);
    REQUIRE(r.status == 0);
    p.check_untouched();
    p.check_same_behaviour("app.py", "");
    CHECK(read_file(p.dir / "out" / "steps.json").find("\"method\": \"outputs\"") != std::string::npos);
}

TEST_CASE("sandbox e2e: a script that edits and deletes its inputs leaves the user's files alone") {
    Project p;
    p.add("app.py", "import os, sys, json\nopen(sys.argv[1], 'a').write('3,4\\n')\nos.remove(sys.argv[2])\n"
                    "print(open(sys.argv[1]).read())\n");
    p.add("input.csv", "a,b\n1,2\n");
    p.add("other.txt", "delete me\n");
    const auto r = p.optimize("app.py", "--passes dead-data", "input.csv other.txt");
    INFO(r.err);
    REQUIRE(r.status == 0);
    p.check_untouched();
    p.check_same_behaviour("app.py", "input.csv other.txt");
}

TEST_CASE("sandbox e2e: an existing output file is compared (-OO changes a docstring written to it)") {
    Project p;
    p.add("app.py", "'''Model v1'''\nimport sys\nopen(sys.argv[1], 'w').write(f'doc={__doc__}\\n')\n");
    p.add("model.txt", "doc=old\n");
    const auto r = p.optimize("app.py", "--passes flags", "model.txt");
    INFO(r.err);
    REQUIRE(r.status == 0);
    p.check_untouched();
    p.check_same_behaviour("app.py", "model.txt");
    const std::string json = read_file(p.dir / "out" / "steps.json");
    CHECK(json.find("model.txt line 1: expected \\\"doc=Model v1\\\", got \\\"doc=None\\\"") != std::string::npos);
    CHECK(json.find("(environment:") == std::string::npos); // -s, -E, -S, -I only on request
}

TEST_CASE("sandbox e2e: options that change the environment are tried only with --allow-env-flags") {
    Project p;
    p.add("app.py", "print('hello')\n");
    const auto r = p.optimize("app.py", "--passes flags --allow-env-flags", "");
    INFO(r.err);
    REQUIRE(r.status == 0);
    const std::string json = read_file(p.dir / "out" / "steps.json");
    for (const char* flag : {"-s (environment:", "-E (environment:", "-S (environment:", "-I (environment:"})
        CHECK(json.find(flag) != std::string::npos);
    p.check_same_behaviour("app.py", "");
}

TEST_CASE("sandbox e2e: nondeterministic output is kept as it is (exit 0, says why) unless --check") {
    Project p;
    SECTION("stdout") {
        p.add("app.py", "import time\nprint(time.time_ns())\n");
        const auto r = p.optimize("app.py", "--passes dead-data", "");
        CHECK(r.status == 0);
        CHECK(r.err.find("app.py's output varies between runs") != std::string::npos);
        CHECK(r.err.find("stdout line 1") != std::string::npos);
        CHECK(r.err.find("step 1") == std::string::npos); // no pass was tried
        const std::string steps = read_file(p.dir / "out" / "steps.json");
        CHECK(steps.find("\"varies\"") != std::string::npos);
        CHECK(fs::is_regular_file(p.dir / "out" / "final" / "app.py"));
        p.check_untouched();
        const auto checked = p.optimize("app.py", "--passes dead-data --check 'test -s \"$MEMOPT_STDOUT\"'", "", "out2");
        INFO(checked.err);
        CHECK(checked.status == 0);
    }
    SECTION("an output file") {
        p.add("app.py", "import sys, time\nprint('done')\nopen(sys.argv[1], 'w').write(str(time.time_ns()))\n");
        const auto r = p.optimize("app.py", "--passes dead-data", "stamp.txt");
        CHECK(r.status == 0);
        CHECK(r.err.find("stamp.txt line 1") != std::string::npos);
        p.check_untouched();
    }
}

TEST_CASE("sandbox e2e: output varying only by unseeded random numbers is compared with the entropy pinned") {
    Project p;
    p.add("app.py", "import json\nimport random\nprint(random.random())\n");
    const auto r = p.optimize("app.py", "--passes dead-data", "");
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(r.err.find("with the OS's entropy pinned") != std::string::npos);
    CHECK(r.err.find("step 1") != std::string::npos); // the pass was tried
    p.check_comparison("outputs, entropy pinned", "Compared: exit status, stdout");
    p.check_untouched();
}

TEST_CASE("sandbox e2e: a write outside the sandbox is refused and blocked") {
    Project p;
    const fs::path outside = p.dir / "elsewhere.txt";
    p.add("app.py", "print('x')\nopen(" + quote(outside.string()) + ", 'w').write('x')\n");
    const auto r = p.optimize("app.py", "--passes dead-data", "");
    CHECK(r.status == 2);
    CHECK(r.err.find("writes outside its sandbox (" + outside.string() + ")") != std::string::npos);
    CHECK_FALSE(fs::exists(outside));
    p.check_untouched();
}

TEST_CASE("sandbox e2e: a program without observable output is not called proven") {
    Project p;
    p.add("app.py", "import json\nx = sum(range(100))\n");
    const auto r = p.optimize("app.py", "--passes dead-data", "");
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(r.err.find("not proven identical") != std::string::npos);
    p.check_comparison("exit status only", "not proven identical");
}
