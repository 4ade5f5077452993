// Hybrid Python/native stacks (profiler/preload/python_frames.h): the interpreter's eval-loop
// frames are replaced by the Python lines they ran, in every thread, GIL held or not; other
// programs keep native stacks; a stack longer than --stack-depth gets a [truncated] root.
#include "reports/analysis/stacks.h"
#include "reports/analysis/summary.h"
#include "tests/support/run.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

using memopt::test::quote;
using memopt::test::run;
using memopt::test::ScratchDir;

namespace {

const std::string kMemopt = MEMOPT_BINARY;
const std::string kPython = "/usr/bin/python3";

memopt::test::RunResult record(const ScratchDir& dir, const std::string& options, const std::string& command) {
    return run(fmt::format("{} record -q -o {} {} -- {}", kMemopt, quote((dir / "t.trace").string()), options, command));
}

std::string write_script(const ScratchDir& dir, const std::string& text) {
    std::ofstream(dir / "script.py") << text;
    return kPython + " " + quote((dir / "script.py").string());
}

// The folded export's lines, heaviest first.
std::vector<std::string> folded_lines(const ScratchDir& dir) {
    const auto r = run(fmt::format("{} report {} --format folded", kMemopt, quote((dir / "t.trace").string())));
    REQUIRE(r.status == 0);
    std::vector<std::pair<std::uint64_t, std::string>> weighted;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);)
        weighted.emplace_back(std::stoull(line.substr(line.rfind(' ') + 1)), line);
    std::sort(weighted.rbegin(), weighted.rend());
    std::vector<std::string> lines;
    for (auto& [weight, line] : weighted) lines.push_back(std::move(line));
    return lines;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

const std::string kNumpyScript = "import numpy as np\n"
                                 "\n"
                                 "def build():\n"
                                 "    big = np.ones(20_000_000)\n"
                                 "    return big\n"
                                 "\n"
                                 "def main():\n"
                                 "    print(build().sum())\n"
                                 "\n"
                                 "main()\n";

} // namespace

TEST_CASE("python stacks: the 160 MB numpy line is named file:line function in the text report and folded") {
    ScratchDir dir("pystacks-numpy");
    REQUIRE(record(dir, "--stacks", write_script(dir, kNumpyScript)).status == 0);
    const auto text = run(fmt::format("{} report {}", kMemopt, quote((dir / "t.trace").string())));
    REQUIRE(text.status == 0);
    // The first site's listing names the Python lines that called into numpy.
    const auto first_site = text.out.find("  1. ");
    const auto second_site = text.out.find("  2. ");
    REQUIRE(first_site != std::string::npos);
    const std::string site = text.out.substr(first_site, second_site - first_site);
    INFO(site);
    CHECK(contains(site, "160.0 MB"));
    CHECK(contains(site, "script.py:4 build"));
    CHECK(contains(site, "script.py:8 main"));
    CHECK(contains(site, "numpy/core/numeric.py:"));
    CHECK_FALSE(contains(site, "_PyEval_EvalFrameDefault"));

    const auto lines = folded_lines(dir);
    REQUIRE(!lines.empty());
    INFO(lines.front());
    // Outermost first: the module, main, build, numpy's ones, then numpy's C frames.
    const auto module = lines.front().find("script.py:10 <module>;");
    const auto build = lines.front().find("script.py:4 build;");
    const auto ones = lines.front().find(" ones;");
    CHECK(module != std::string::npos);
    CHECK(build > module);
    CHECK(ones > build);
    CHECK(contains(lines.front().substr(ones), "_multiarray_umath"));
    CHECK(lines.front().ends_with(" 160000000"));

    for (const std::string format : {"html", "speedscope", "massif", "json"}) {
        const auto out = dir / ("out." + format);
        REQUIRE(run(fmt::format("{} report {} --format {} -o {}", kMemopt, quote((dir / "t.trace").string()), format,
                                quote(out.string()))).status == 0);
        INFO(format);
        CHECK(contains(memopt::test::read_file(out), "script.py:4 build"));
    }
}

TEST_CASE("python stacks: a thread allocating without the GIL still gets its Python frames") {
    ScratchDir dir("pystacks-nogil");
    // ctypes releases the GIL around the foreign call: malloc runs in a thread without it.
    const std::string script = "import ctypes, threading\n"
                               "libc = ctypes.CDLL(None)\n"
                               "libc.malloc.restype = ctypes.c_void_p\n"
                               "def without_gil():\n"
                               "    return libc.malloc(150_000_000)\n"
                               "thread = threading.Thread(target=without_gil)\n"
                               "thread.start()\n"
                               "thread.join()\n";
    REQUIRE(record(dir, "--stacks", write_script(dir, script)).status == 0);
    const auto lines = folded_lines(dir);
    REQUIRE(!lines.empty());
    INFO(lines.front());
    CHECK(contains(lines.front(), "script.py:5 without_gil;"));
    CHECK(contains(lines.front(), "threading.py:"));
    CHECK(lines.front().ends_with(" 150000000"));
}

TEST_CASE("python stacks: a non-Python program's stacks stay native") {
    ScratchDir dir("pystacks-native");
    REQUIRE(record(dir, "--stacks=1", std::string(GROUND_TRUTH_BINARY) + " noleak").status == 0);
    memopt::reports::SummaryOptions options;
    options.top_sites = 2;
    const auto summary = memopt::reports::summarize_trace(dir / "t.trace", options);
    REQUIRE(summary.top_sites.size() == 2);
    CHECK(summary.top_sites[0].stack.front() == "small_churn (ground_truth)");
    CHECK(summary.top_sites[1].stack.front() == "main (ground_truth)");
    for (const auto& line : folded_lines(dir)) {
        INFO(line);
        CHECK_FALSE(contains(line, "[python]"));
        CHECK_FALSE(contains(line, "[truncated]"));
        CHECK_FALSE(contains(line, ".py:"));
    }
}

TEST_CASE("python stacks: a Python the tracer does not know gives native stacks and one warning") {
    ScratchDir dir("pystacks-unknown");
    const auto r = record(dir, "--stacks=1", FAKE_PYTHON_BINARY);
    REQUIRE(r.status == 0); // the fake interpreter aborts if the tracer calls into it
    CHECK(r.out == "done\n");
    INFO(r.err);
    const auto warning = r.err.find("Python 3.12 is not supported for Python frames");
    CHECK(warning != std::string::npos);
    CHECK(r.err.find("not supported", warning + 20) == std::string::npos); // once
    const auto lines = folded_lines(dir);
    REQUIRE(!lines.empty());
    CHECK(contains(lines.front(), "allocate_many"));
}

TEST_CASE("python stacks: libpython loaded with dlopen after the start is found when it runs code") {
    ScratchDir dir("pystacks-embed");
    const auto r = record(dir, "--stacks", EMBED_PYTHON_BINARY);
    INFO(r.err);
    REQUIRE(r.status == 0);
    const auto lines = folded_lines(dir);
    REQUIRE(!lines.empty());
    INFO(lines.front());
    CHECK(contains(lines.front(), "<string>:3 <module>;<string>:2 embedded;"));
    CHECK(contains(lines.front(), "libpython3.11.so"));
}

TEST_CASE("python stacks: a stack deeper than --stack-depth keeps its innermost frames under [truncated]") {
    ScratchDir dir("pystacks-deep");
    const std::string script = "import numpy as np\n"
                               "def deep(n):\n"
                               "    if n == 0:\n"
                               "        return np.ones(30_000_000)\n" // above OpenBLAS's 128 MiB buffers
                               "    return deep(n - 1)\n"
                               "print(deep(100).sum())\n";
    const std::string command = write_script(dir, script);
    REQUIRE(record(dir, "--stacks --stack-depth=40", command).status == 0);
    const auto lines = folded_lines(dir);
    REQUIRE(!lines.empty());
    INFO(lines.front());
    CHECK(lines.front().starts_with("[truncated];"));
    CHECK(contains(lines.front(), "script.py:4 deep;"));
    CHECK(std::count(lines.front().begin(), lines.front().end(), ';') < 40);
    // Every stack past the limit is cut (a whole one has at most 40 recorded frames, the
    // tracer's own innermost ones among them).
    for (const auto& line : lines) {
        INFO(line);
        CHECK((line.starts_with("[truncated];") || std::count(line.begin(), line.end(), ';') < 40));
    }

    SECTION("the default depth keeps all of it") {
        std::filesystem::remove(dir / "t.trace");
        REQUIRE(record(dir, "--stacks", command).status == 0);
        const auto whole = folded_lines(dir);
        REQUIRE(!whole.empty());
        CHECK(whole.front().starts_with("_start"));
        CHECK(contains(whole.front(), "script.py:6 <module>;"));
    }
}

TEST_CASE("python stacks: --stack-depth out of range is a one-line error") {
    ScratchDir dir("pystacks-bad-depth");
    for (const std::string value : {"1", "481", "x"}) {
        const auto r = record(dir, "--stacks --stack-depth=" + value, "/bin/true");
        INFO(value << ": " << r.err);
        CHECK(r.status == 2);
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
        CHECK(!std::filesystem::exists(dir / "t.trace"));
    }
}

TEST_CASE("python stacks: which labels are Python frames, and which frames a listing shows") {
    using memopt::reports::frames_to_list;
    using memopt::reports::is_python_frame_label;
    CHECK(is_python_frame_label("/tmp/a b/script.py:4 build"));
    CHECK(is_python_frame_label("<frozen importlib._bootstrap>:241 _call_with_frames_removed"));
    CHECK(is_python_frame_label("sklearn/svm/_base.py:435 BaseLibSVM.predict"));
    CHECK(is_python_frame_label("[python]"));
    CHECK_FALSE(is_python_frame_label("PyObject_Vectorcall (python3.11)"));
    CHECK_FALSE(is_python_frame_label("libc.so.6+0x891f4"));
    CHECK_FALSE(is_python_frame_label("std::vector<int>::push_back(int const&) (a.out)"));
    CHECK_FALSE(is_python_frame_label("[truncated]"));
    const std::vector<std::string> stack = {"n0", "n1", "n2", "a.py:1 f", "n4", "a.py:2 g", "n6", "a.py:3 h", "a.py:4 i"};
    CHECK(frames_to_list(stack, 2, 2) == std::vector<std::size_t>{0, 1, 3, 5});
    CHECK(frames_to_list(stack, 4, 9) == std::vector<std::size_t>{0, 1, 2, 3, 5, 7, 8});
    CHECK(frames_to_list({"x"}, 8, 4) == std::vector<std::size_t>{0});
}
