// The sandbox, the observation of a run's outputs and the acceptance rule, called directly:
// the user's files are never touched, relative paths work, every output (files created,
// changed or deleted, stdout, figures) is compared, varying output and writes outside the
// sandbox are found, and savings within the noise are not kept.
#include "common/error.h"
#include "tests/support/run.h"
#include "transforms/acceptance.h"
#include "transforms/outputs.h"
#include "transforms/sandbox.h"
#include "transforms/verify.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using memopt::test::read_file;
using memopt::test::ScratchDir;
using namespace memopt::transforms;

namespace {

void write(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
}

Program script(const fs::path& path, const std::string& code) {
    write(path, code);
    Program p;
    p.path = path;
    return p;
}

// A user's directory: data.csv and sub/notes.txt in the cwd, outside.csv elsewhere.
struct UserFiles {
    ScratchDir dir{"memopt-sandbox"};
    fs::path cwd = dir / "proj";
    fs::path outside = dir / "elsewhere" / "outside.csv";
    UserFiles() {
        write(cwd / "data.csv", "a,b\n1,2\n");
        write(cwd / "sub" / "notes.txt", "keep\n");
        write(cwd / ".git" / "HEAD", "ref\n");
        write(outside, "x\n5\n");
    }
    Sandbox make(const std::vector<std::string>& args, const SandboxLimits& limits = {}) const {
        return Sandbox(dir / "runs" / "sandbox", cwd, args, {dir / "runs"}, limits);
    }
};

} // namespace

TEST_CASE("sandbox: the cwd's files are copied and arguments mapped to the copies") {
    UserFiles u;
    Sandbox box = u.make({"data.csv", (u.cwd / "sub" / "notes.txt").string(), u.outside.string(), "pred.csv",
                          (u.dir / "elsewhere" / "new.csv").string(), "--flag", "7", ".", u.cwd.string()});
    CHECK(read_file(box.cwd() / "data.csv") == "a,b\n1,2\n");
    CHECK(read_file(box.cwd() / "sub" / "notes.txt") == "keep\n");
    CHECK_FALSE(fs::exists(box.cwd() / ".git")); // version control is not the program's data
    const auto& a = box.args();
    REQUIRE(a.size() == 9);
    CHECK(a[7] == ".");                       // the cwd itself is not copied again
    CHECK(a[8] == box.cwd().string());
    CHECK(a[0] == "data.csv");                                     // relative: resolves to the copy
    CHECK(a[1] == (box.cwd() / "sub" / "notes.txt").string());     // absolute inside the cwd: the copy
    CHECK(a[2] == (box.root() / "ext" / "3" / "outside.csv").string());
    CHECK(read_file(a[2]) == "x\n5\n");
    CHECK(a[3] == "pred.csv");                                     // an output in the cwd lands in the copy
    CHECK(a[4] == (box.root() / "ext" / "5" / "new.csv").string()); // an absolute output lands in the sandbox
    CHECK(a[5] == "--flag");
    CHECK(a[6] == "7");
    CHECK(box.summary().find("3 files") != std::string::npos);
}

TEST_CASE("sandbox: a working directory too large to copy is refused with what to do") {
    UserFiles u;
    SandboxLimits small;
    small.max_files = 1;
    try {
        u.make({}, small);
        FAIL("no error");
    } catch (const memopt::Error& e) {
        const std::string what = e.what();
        CHECK(what.find(u.cwd.string()) != std::string::npos);
        CHECK(what.find("smaller directory") != std::string::npos);
    }
}

TEST_CASE("sandbox: a run that edits, deletes and creates files leaves the user's files alone") {
    UserFiles u;
    Sandbox box = u.make({"data.csv", u.outside.string()});
    const Program p = script(u.dir / "prog" / "edit.py",
                             "import os, sys\n"
                             "open(sys.argv[1], 'a').write('3,4\\n')\n"
                             "os.remove(sys.argv[2])\n"
                             "os.remove('sub/notes.txt')\n"
                             "open('made.txt', 'w').write('new')\n"
                             "open('data.csv', 'r').read()\n"
                             "open(sys.argv[2] + '.log', 'w').write('beside')\n");
    const Observation o = observe(p, box);
    REQUIRE(o.status == 0);
    CHECK(o.hooked);
    CHECK(o.files.size() == 5);
    CHECK(o.outside_writes.empty());
    REQUIRE(o.files.count("data.csv"));
    CHECK(o.files.at("data.csv").head == "a,b\n1,2\n3,4\n");
    REQUIRE(o.files.count(u.outside.string()));
    CHECK(o.files.at(u.outside.string()).deleted);
    CHECK(o.files.at("sub/notes.txt").deleted);
    CHECK(o.files.at("made.txt").head == "new");
    CHECK(o.files.at(u.outside.string() + ".log").head == "beside"); // named as the program named it
    CHECK_FALSE(fs::exists(u.outside.string() + ".log"));
    // the user's files: byte-identical and still there
    CHECK(read_file(u.cwd / "data.csv") == "a,b\n1,2\n");
    CHECK(read_file(u.cwd / "sub" / "notes.txt") == "keep\n");
    CHECK(read_file(u.outside) == "x\n5\n");
    CHECK_FALSE(fs::exists(u.cwd / "made.txt"));
    // a second run starts from the pristine copy again and shows the same
    const Observation again = observe(p, box);
    CHECK(difference(o, again, false).empty());
}

TEST_CASE("sandbox: every output is compared") {
    UserFiles u;
    Sandbox box = u.make({"data.csv", "out.csv"});
    const fs::path prog = u.dir / "prog";
    const Observation ref = observe(script(prog / "a.py", "import sys\nprint('ok')\nopen(sys.argv[2], 'w').write('1,2.5\\n')\n"), box);
    SECTION("an output file's contents") {
        const auto o = observe(script(prog / "b.py", "import sys\nprint('ok')\nopen(sys.argv[2], 'w').write('1.0,2.5\\n')\n"), box);
        CHECK(difference(ref, o, false).find("out.csv line 1") != std::string::npos);
    }
    SECTION("a file the original does not write, and an input changed") {
        const auto o = observe(script(prog / "c.py", "import sys\nprint('ok')\nopen(sys.argv[2], 'w').write('1,2.5\\n')\n"
                                                       "open(sys.argv[1], 'w').write('')\n"), box);
        CHECK(difference(ref, o, false) == "wrote data.csv (the original does not)");
    }
    SECTION("stdout, exit status, stderr only on request") {
        const auto o = observe(script(prog / "d.py", "import sys\nprint('ok')\nopen(sys.argv[2], 'w').write('1,2.5\\n')\n"
                                                       "print('noise', file=sys.stderr)\n"), box);
        CHECK(difference(ref, o, false).empty());
        CHECK(difference(ref, o, true).find("stderr line 1") != std::string::npos);
        const auto e = observe(script(prog / "e.py", "import sys\nsys.exit(3)\n"), box);
        CHECK(difference(ref, e, false).find("exit status 3 instead of 0") != std::string::npos);
    }
    CHECK(observable_outputs(ref, false) == std::vector<std::string>{"stdout", "out.csv"});
}

TEST_CASE("sandbox: a program without observable output is said to have none") {
    UserFiles u;
    Sandbox box = u.make({});
    const auto o = observe(script(u.dir / "prog" / "quiet.py", "x = sum(range(10))\n"), box);
    CHECK(o.status == 0);
    CHECK(observable_outputs(o, false).empty());
}

TEST_CASE("sandbox: matplotlib figures are rendered and compared at show() and at exit") {
    UserFiles u;
    Sandbox box = u.make({});
    const fs::path prog = u.dir / "prog";
    auto plot = [&](const std::string& name, const std::string& y) {
        return observe(script(prog / name, "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], " + y + ")\nplt.show()\n"
                                           "plt.figure()\nplt.plot([0, 1])\n"), box);
    };
    const auto a = plot("a.py", "[1, 4, 9]");
    REQUIRE(a.status == 0);
    CHECK(a.figures.count("figure 1 at plt.show() call 1"));
    CHECK(a.figures.count("figure 2 at exit"));
    Program isolated = script(prog / "i.py", read_file(prog / "a.py"));
    isolated.python_flags = {"-I"};
    CHECK(difference(a, observe(isolated, box), false).find("figures cannot be observed") != std::string::npos);
    CHECK(difference(a, plot("b.py", "[1, 4, 9]"), false).empty());
    CHECK(difference(a, plot("c.py", "[1, 4, 8]"), false).find("figure 1 at ") != std::string::npos);
    for (const auto& w : a.outside_writes) UNSCOPED_INFO("outside: " << w);
    CHECK(a.outside_writes.empty()); // matplotlib's cache is not the program's output
}

TEST_CASE("sandbox: a figure's texts are compared as text, their timings masked when only they vary") {
    UserFiles u;
    Sandbox box = u.make({});
    const fs::path prog = u.dir / "prog";
    auto titled = [&](const std::string& name, const std::string& title) {
        return observe(script(prog / name, "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [1, 4, 9])\n"
                                           "plt.title(" + title + ")\nplt.xlabel('x')\n"), box);
    };
    std::vector<Observation> refs{titled("a.py", "'k=3, fit 0.12s\\nlinkage=ward'"),
                                  titled("b.py", "'k=3, fit 0.57s\\nlinkage=ward'")};
    REQUIRE(refs[0].status == 0);
    REQUIRE(refs[0].figures.count("figure 1 at exit text 1 line 1"));
    CHECK(refs[0].figures.at("figure 1 at exit text 1 line 1").head == "'k=3, fit 0.12s'");
    CHECK(refs[0].figures.at("figure 1 at exit text 1 line 2").head == "'linkage=ward'");
    CHECK(!refs[0].figures.count("figure 1 at exit text 2 line 1")); // tick labels and "x" are in the pixels
    // the digits are drawn as 0: the pixels agree, the texts differ only in a timing
    CHECK(refs[0].figures.at("figure 1 at exit").sha256 == refs[1].figures.at("figure 1 at exit").sha256);
    CHECK(!variation(refs, false).empty());
    REQUIRE(mark_varying_timings(refs));
    CHECK(variation(refs, false).empty());
    CHECK(difference(refs[0], titled("c.py", "'k=3, fit 1.5s\\nlinkage=ward'"), false).empty());
    CHECK(difference(refs[0], titled("d.py", "'k=4, fit 0.12s\\nlinkage=ward'"), false)
              .find("figure 1 at exit text 1 line 1") != std::string::npos); // a result in the title changed
    CHECK(difference(refs[0], titled("e.py", "'K=3, fit 0.12s\\nlinkage=ward'"), false).find("figure 1 at exit") !=
          std::string::npos);
    std::vector<Observation> results{titled("f.py", "'accuracy 0.91'"), titled("g.py", "'accuracy 0.93'")};
    CHECK(!mark_varying_timings(results)); // not a timing: the program varies
}

TEST_CASE("sandbox: varying output is found across reference runs with different hash seeds") {
    UserFiles u;
    Sandbox box = u.make({});
    const Program p = script(u.dir / "prog" / "seeds.py",
                             "print(sorted({'a', 'b'}))\nprint(list({'alpha', 'beta', 'gamma', 'delta', 'eps', 'zeta'}))\n");
    std::vector<Observation> refs;
    for (const char* seed : {"1", "2", "3", "4"}) {
        ObserveOptions options;
        options.hash_seed = seed;
        refs.push_back(observe(p, box, options));
    }
    CHECK(variation(refs, false).find("stdout line 2") != std::string::npos);
    std::vector<Observation> same(2, refs[0]);
    CHECK(variation(same, false).empty());
}

TEST_CASE("sandbox: writes outside the sandbox are named") {
    UserFiles u;
    Sandbox box = u.make({});
    const fs::path target = u.dir / "elsewhere" / "hardcoded.txt";
    const auto o = observe(script(u.dir / "prog" / "out.py", "open('" + target.string() + "', 'w').write('x')\n"
                                                             "import tempfile\ntempfile.TemporaryFile().close()\n"), box);
    CHECK(o.outside_writes == std::vector<std::string>{target.string()});
}

TEST_CASE("sandbox: one acceptance rule above the noise and the minimum") {
    const std::uint64_t MB = 1000000;
    SECTION("a saving smaller than the runs' spread is not kept") {
        const auto a = judge_saving({100 * MB, 100 * MB + 800000, 100 * MB + 300000}, {100 * MB + 250000, 100 * MB, 100 * MB + 100000});
        CHECK_FALSE(a.keep);
        CHECK(a.needed_bytes == 800000);
        CHECK(a.reason.find("spread") != std::string::npos);
    }
    SECTION("a saving below the minimum is not kept even without noise") {
        CHECK_FALSE(judge_saving({100 * MB}, {100 * MB - 100000}).keep); // 0.1 % < 0.5 %
        CHECK_FALSE(judge_saving({10 * MB}, {10 * MB - 100000}).keep);   // 100 KB < 128 KiB
    }
    SECTION("a clear saving is kept") {
        const auto a = judge_saving({100 * MB, 101 * MB, 100 * MB}, {90 * MB, 90 * MB, 91 * MB});
        CHECK(a.keep);
        CHECK(a.saved_bytes == 10 * static_cast<std::int64_t>(MB));
        CHECK(a.reason.empty());
    }
    SECTION("growth is not kept") { CHECK_FALSE(judge_saving({10 * MB}, {11 * MB}).keep); }
}

namespace {

struct VerifyCase {
    UserFiles u;
    VerifyOptions options;
    std::unique_ptr<Verifier> make(const std::vector<std::string>& args) {
        return std::make_unique<Verifier>(u.dir / "runs", u.cwd, args, std::vector<fs::path>{u.dir / "runs"}, options);
    }
};

// Why the baseline cannot be optimized: an error, or output that varies (optimize then keeps it).
std::string establish_error(Verifier& v, const Program& p) {
    try {
        const Comparison c = v.establish(p, "prog.py");
        if (c.method == "varies") return c.note;
    } catch (const memopt::Error& e) {
        return e.what();
    }
    return "";
}

} // namespace

TEST_CASE("sandbox: the reference runs more than once, varying output stops optimize") {
    VerifyCase c;
    const fs::path prog = c.u.dir / "prog";
    SECTION("nondeterministic stdout") {
        auto v = c.make({});
        const auto why = establish_error(*v, script(prog / "clock.py", "import time\nprint(time.time_ns())\n"));
        CHECK(why.find("prog.py's output varies between runs") != std::string::npos);
        CHECK(why.find("stdout line 1") != std::string::npos);
        CHECK(why.find("--check") != std::string::npos);
    }
    SECTION("a nondeterministic output file") {
        auto v = c.make({"stamp.txt"});
        const auto why = establish_error(*v, script(prog / "stamp.py", "import sys, time\nprint('done')\n"
                                                                        "open(sys.argv[1], 'w').write(str(time.time_ns()))\n"));
        CHECK(why.find("stamp.txt line 1") != std::string::npos);
    }
    SECTION("--check says how to compare: the check replaces the comparison") {
        c.options.check = "test -s \"$MEMOPT_STDOUT\" && test -s \"$MEMOPT_REFERENCE_STDOUT\"";
        auto v = c.make({});
        const Comparison cmp = v->establish(script(prog / "coin.py", "import random\nprint(random.random())\n"), "prog.py");
        CHECK(cmp.method == "check");
        CHECK(v->compare(script(prog / "coin2.py", "import random\nprint(random.random() + 1)\n")).empty());
        CHECK(v->compare(script(prog / "silent.py", "pass\n")).find("--check command failed") != std::string::npos);
    }
}

namespace {

// Prints a number from numpy's global generator and writes five from default_rng(): both seeded
// by the OS's entropy. `before` runs first (a candidate's change).
Program draws(const fs::path& path, const std::string& before = "") {
    return script(path, "import sys\nimport numpy as np\n" + before +
                            "print(np.random.rand())\nnp.savetxt(sys.argv[1], np.random.default_rng().random(5))\n");
}

} // namespace

TEST_CASE("sandbox: output varying only by the OS's entropy is compared with the entropy pinned") {
    VerifyCase c;
    const fs::path prog = c.u.dir / "prog";
    SECTION("one copy") {
        auto v = c.make({"draws.txt"});
        const Comparison cmp = v->establish(draws(prog / "a.py"), "a.py");
        CHECK(cmp.method == "outputs, entropy pinned");
        CHECK(cmp.outputs == std::vector<std::string>{"stdout", "draws.txt"});
        CHECK(cmp.note.find("a.py's output varies between runs (run 2 differs from run 1: ") != std::string::npos);
        CHECK(cmp.note.find("Proven: under the same random numbers from the OS") != std::string::npos);
        // the draws unchanged (a statement that draws nothing added): the same outputs
        CHECK(v->compare(draws(prog / "b.py", "unused = [0] * 1000\n")).empty());
        // one more random number drawn before the program's own: rejected
        CHECK(v->compare(draws(prog / "c.py", "np.random.rand()\n")).find("stdout line 1") != std::string::npos);
        // a module that draws from the OS on import, imported earlier: numpy's draws keep their bytes
        CHECK(v->compare(draws(prog / "d.py", "import uuid\nuuid.uuid4()\n")).empty());
    }
    SECTION("two copies: checks in the second copy run pinned too") {
        c.options.jobs = 2;
        auto v = c.make({"draws.txt"});
        CHECK(v->establish(draws(prog / "a.py"), "a.py").method == "outputs, entropy pinned");
        REQUIRE(v->can_check_two());
        const auto [same, extra] = v->check_two(draws(prog / "b.py"), draws(prog / "c.py", "np.random.default_rng()\n"));
        CHECK(same.difference.empty());
        CHECK(extra.difference.find("draws.txt line 1") != std::string::npos);
    }
    SECTION("python's random module") {
        auto v = c.make({});
        const Comparison cmp = v->establish(script(prog / "r.py", "import random\nprint(random.random(), random.Random().random())\n"), "r.py");
        CHECK(cmp.method == "outputs, entropy pinned");
        CHECK(v->compare(script(prog / "r2.py", "import random\nprint(random.random(), random.random())\n"))
                  .find("stdout line 1") != std::string::npos);
    }
}

TEST_CASE("sandbox: output varying for another reason than the OS's entropy still varies when pinned") {
    VerifyCase c;
    const fs::path prog = c.u.dir / "prog";
    auto v = c.make({});
    for (const char* code : {"import time\nprint(time.time_ns() % 1000)\n", "print(id(object()))\n"}) {
        INFO(code);
        const Comparison cmp = v->establish(script(prog / "vary.py", code), "vary.py");
        CHECK(cmp.method == "varies");
        CHECK(cmp.note.find("also with the OS's entropy pinned (run ") != std::string::npos);
        CHECK(cmp.note.find("entropy pinning did not make it deterministic") != std::string::npos);
    }
}

TEST_CASE("sandbox: the hook pins the OS's entropy of an observed run when asked") {
    UserFiles u;
    Sandbox box = u.make({});
    const Program p = script(u.dir / "prog" / "entropy.py",
                             "import random, secrets, numpy as np\n"
                             "print(np.random.rand(), np.random.default_rng().random(), random.random(), secrets.token_hex(8))\n");
    auto run = [&](const char* seed, bool pin) {
        ObserveOptions options;
        options.hash_seed = seed;
        options.pin_entropy = pin;
        const Observation o = observe(p, box, options);
        CHECK(o.status == 0);
        CHECK(o.hooked);
        return o.out.head;
    };
    const std::string pinned = run("1", true);
    CHECK(pinned.size() > 20);
    CHECK(run("2", true) == pinned);  // another hash seed, the same numbers
    CHECK(run("1", false) != pinned);
    CHECK(run("1", false) != run("1", false));
}

TEST_CASE("sandbox: a program writing outside the sandbox is refused unless --check") {
    VerifyCase c;
    const fs::path target = c.u.dir / "elsewhere" / "log.txt";
    const Program p = script(c.u.dir / "prog" / "log.py", "print(1)\nopen('" + target.string() + "', 'a').write('x')\n");
    {
        auto v = c.make({});
        const auto why = establish_error(*v, p);
        CHECK(why.find("writes outside its sandbox (" + target.string() + ")") != std::string::npos);
        CHECK_FALSE(fs::exists(target)); // blocked: the user's file is not written
    }
    fs::remove_all(c.u.dir / "runs");
    c.options.check = "true";
    auto v = c.make({});
    CHECK(establish_error(*v, p).empty());
}

TEST_CASE("sandbox: candidates are compared against the reference, no output is said") {
    VerifyCase c;
    const fs::path prog = c.u.dir / "prog";
    SECTION("an existing output file") {
        write(c.u.cwd / "model.txt", "doc=old\n");
        auto v = c.make({"model.txt"});
        const Comparison cmp = v->establish(script(prog / "a.py", "'''Model v1'''\nimport sys\n"
                                                                  "open(sys.argv[1], 'w').write(f'doc={__doc__}\\n')\n"), "a.py");
        CHECK(cmp.method == "outputs");
        CHECK(cmp.outputs == std::vector<std::string>{"model.txt"});
        Program oo = script(prog / "b.py", read_file(prog / "a.py"));
        CHECK(v->compare(oo).empty());
        oo.python_flags = {"-OO"};
        CHECK(v->compare(oo).find("model.txt line 1: expected \"doc=Model v1\", got \"doc=None\"") != std::string::npos);
        CHECK(read_file(c.u.cwd / "model.txt") == "doc=old\n");
    }
    SECTION("no observable output") {
        auto v = c.make({});
        const Comparison cmp = v->establish(script(prog / "q.py", "x = 1\n"), "q.py");
        CHECK(cmp.method == "exit status only");
        CHECK(cmp.note.find("not proven identical") != std::string::npos);
    }
}

TEST_CASE("sandbox: two runs at a time in two copies (--jobs 2)") {
    VerifyCase c;
    c.options.jobs = 2;
    const fs::path prog = c.u.dir / "prog";
    SECTION("a program that shows nothing of where it runs may be checked in the second copy") {
        auto v = c.make({"data.csv"});
        const Comparison cmp = v->establish(script(prog / "a.py", "import sys\nprint(open(sys.argv[1]).read())\n"), "a.py");
        CHECK(cmp.method == "outputs");
        CHECK(v->can_check_two());
        CHECK(fs::exists(c.u.dir / "runs" / "sandbox-2" / "cwd" / "data.csv"));
        const auto [same, other] = v->check_two(script(prog / "b.py", read_file(prog / "a.py")),
                                                script(prog / "c.py", "print('other')\n"));
        CHECK(same.difference.empty());
        CHECK(other.difference.find("stdout line 1") != std::string::npos);
        CHECK(same.hooked);
        CHECK(other.hooked);
    }
    SECTION("a program printing its directory is not said to vary; the second copy no longer checks") {
        auto v = c.make({});
        const Comparison cmp = v->establish(script(prog / "cwd.py", "import os\nprint(os.getcwd())\n"), "cwd.py");
        CHECK(cmp.method == "outputs");
        CHECK_FALSE(v->can_check_two());
        CHECK(v->compare(script(prog / "cwd2.py", read_file(prog / "cwd.py"))).empty());
        const auto [first, second] = v->check_two(script(prog / "cwd3.py", read_file(prog / "cwd.py")),
                                                  script(prog / "cwd4.py", read_file(prog / "cwd.py")));
        CHECK(first.difference.empty()); // one after the other in the first copy
        CHECK(second.difference.empty());
    }
    SECTION("a measured run made beside a check counts once toward the program's measurement") {
        auto v = c.make({});
        const Program p = script(prog / "m.py", "x = bytearray(30_000_000)\nprint(len(x))\n");
        v->establish(p, "m.py");
        const RunTally before = run_tally();
        CHECK(v->check(p, /*measure_beside=*/true).difference.empty());
        const Measurement m = v->measure(p, 3, "m.py");
        const RunTally after = run_tally();
        CHECK(after.runs - before.runs == 4);   // the check, the run beside it and 2 more
        CHECK(after.rounds - before.rounds == 2); // two at a time
        REQUIRE(m.peak_rss_runs.size() == 3);
        for (const auto peak : m.peak_rss_runs) CHECK(peak > 30'000'000);
    }
}

TEST_CASE("sandbox: runs started together are each their own process") {
    ScratchDir dir{"memopt-together"};
    RunSpec waits, creates;
    // The first only ends once the second has run: started one after the other, it would
    // wait its full 20 s and fail.
    waits.argv = {"/bin/sh", "-c", "i=0; while [ ! -e " + (dir / "flag").string() +
                                       " ] && [ $i -lt 2000 ]; do sleep 0.01; i=$((i+1)); done; test -e " + (dir / "flag").string()};
    creates.argv = {"/usr/bin/python3", "-c", "b = bytearray(60_000_000); open('" + (dir / "flag").string() + "', 'w')"};
    const RunTally before = run_tally();
    const auto outcomes = run_together({waits, creates});
    REQUIRE(outcomes.size() == 2);
    CHECK(outcomes[0].status == 0);
    CHECK(outcomes[1].status == 0);
    CHECK(outcomes[1].max_rss_kib * 1024 > 60'000'000); // each peak is its own
    CHECK(outcomes[0].max_rss_kib * 1024 < 20'000'000);
    CHECK(run_tally().rounds == before.rounds + 1);
}
