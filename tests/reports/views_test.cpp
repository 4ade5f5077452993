// The HTML report's views: the line a stack is reported by, the flame graphs' data (escaped
// for a <script> element, zoomable from the script), the leaks view, the top lines at the
// peak, and the flame script's promise never to evaluate trace text.
#include "reports/analysis/site_lines.h"
#include "reports/analysis/stacks.h"
#include "reports/render/html.h"
#include "tests/reports/common.h"

#include <nlohmann/json.hpp>

using namespace memopt;
using namespace memopt::reports;
using namespace memopt::test;

namespace {

// The JSON data blocks of every flame graph of a page, parsed.
std::vector<nlohmann::json> flame_data(const std::string& html) {
    const std::string open = "<script type=\"application/json\" class=\"flame-data\">";
    std::vector<nlohmann::json> blocks;
    for (auto pos = html.find(open); pos != std::string::npos; pos = html.find(open, pos + 1)) {
        const auto start = pos + open.size();
        const auto end = html.find("</script>", start);
        REQUIRE(end != std::string::npos);
        const std::string text = html.substr(start, end - start);
        INFO(text.substr(0, 200));
        CHECK(text.find('<') == std::string::npos); // nothing can close the element early
        CHECK(text.find('>') == std::string::npos);
        blocks.push_back(nlohmann::json::parse(text));
    }
    return blocks;
}

} // namespace

TEST_CASE("allocation_line: the innermost frame below the allocator, libc and the interpreter") {
    // Outermost first, as WeightedStack::frames.
    CHECK(allocation_line({"_start (python3.11)", "PyEval_EvalCode (python3.11)", "svm_predict (_libsvm.so)",
                           "svm::Kernel::k_function() (_libsvm.so)", "operator new(unsigned long) (libstdc++.so.6)",
                           "malloc (libmemopt_preload.so)"}) == "svm::Kernel::k_function() (_libsvm.so)");
    CHECK(allocation_line({"libc.so.6+0x1098eb", "libopenblas.so.0+0x374843", "blas_memory_alloc (libopenblas.so.0)",
                           "libc.so.6+0x11b1c0"}) == "libopenblas.so.0+0x374843");
    // numpy's allocator helpers are allocator frames too ("alloc" in the name).
    CHECK(allocation_line({"_PyEval_EvalFrameDefault (python3.11)", "PyArray_Zeros (_multiarray_umath.so)",
                           "npy_alloc_cache (_multiarray_umath.so)", "default_calloc (_multiarray_umath.so)"}) ==
          "PyArray_Zeros (_multiarray_umath.so)");
    // A hybrid stack names its innermost Python line, even below native frames.
    CHECK(allocation_line({"main.py:3 <module>", "fit.py:120 fit", "PyArray_Zeros (_multiarray_umath.so)"}) ==
          "fit.py:120 fit");
    // All runtime: the innermost interpreter frame that is not an allocator, else the leaf.
    CHECK(allocation_line({"_PyEval_EvalFrameDefault (python3.11)", "PyBytes_FromStringAndSize (python3.11)",
                           "PyObject_Malloc (python3.11)", "libc.so.6+0x99"}) == "PyBytes_FromStringAndSize (python3.11)");
    CHECK(allocation_line({"libc.so.6+0x1", "malloc (libc.so.6)"}) == "malloc (libc.so.6)");
    CHECK(allocation_line({}) == "?");
    // With debug info a frame carries its source line; only the function's name counts.
    CHECK(allocation_line({"main src/main.cpp:9 (a.out)", "build src/alloc_table.cpp:30 (a.out)",
                           "std::__new_allocator<int>::allocate(unsigned long) new_allocator.h:151 (a.out)",
                           "operator new(unsigned long) (libstdc++.so.6)"}) == "build src/alloc_table.cpp:30 (a.out)");
    CHECK(allocation_line({"main (a.out)", "libc.so.6+0x2f1 string.c:10"}) == "main (a.out)");
    CHECK(is_python_frame("/a/b c.py:12 f"));
    CHECK_FALSE(is_python_frame("copy.py: f"));
    CHECK(is_runtime_frame("[truncated]"));
    CHECK(is_runtime_frame("[python]")); // a Python frame the reader could not name
    CHECK_FALSE(is_runtime_frame("main (a.out)"));
}

TEST_CASE("weights_by_line sums stacks that share a line, largest first") {
    const std::vector<WeightedStack> stacks = {
        {{"main (a)", "f (a)", "malloc (libc.so.6)"}, 100, 1},
        {{"main (a)", "g (a)", "f (a)", "malloc (libc.so.6)"}, 50, 2}, // another path to f
        {{"main (a)", "h (a)"}, 120, 3},
    };
    const auto lines = weights_by_line(stacks);
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].line == "f (a)");
    CHECK(lines[0].bytes == 150);
    CHECK(lines[0].count == 3);
    CHECK(lines[1].line == "h (a)");
}

TEST_CASE("flame graph data: escaped for a script element, pre-order, small frames left out") {
    const std::string evil = "</script><script>alert('x')</script><!--&";
    const std::vector<WeightedStack> stacks = {
        {{"main", evil, "leaf"}, 1'000'000, 1}, {{"main", "h"}, 500'000, 1}, {{"main", "tiny"}, 10, 1}};
    const std::string box = html::flame_graph(stacks, "flame <x>");
    CHECK(box.find("flame &lt;x&gt;") != std::string::npos);
    CHECK(box.find("<script>") == std::string::npos); // only the data block, whose text is escaped
    const auto blocks = flame_data(box);
    REQUIRE(blocks.size() == 1);
    const auto& data = blocks[0];
    CHECK(data["title"] == "flame <x>");
    CHECK(data["diff"] == false);
    const auto names = data["names"].get<std::vector<std::string>>();
    CHECK(std::find(names.begin(), names.end(), evil) != names.end()); // the name itself, intact
    CHECK(std::find(names.begin(), names.end(), "tiny") == names.end()); // 10 of 1.5 MB: under 0.01 %
    const auto nodes = data["nodes"].get<std::vector<long>>();
    REQUIRE(nodes.size() == 3 * 5); // all, main, evil, leaf, h
    CHECK(nodes[0] == -1);
    CHECK(nodes[2] == 1'500'010); // the root keeps every byte
    for (std::size_t i = 1; i < nodes.size() / 3; ++i) CHECK(nodes[3 * i] < static_cast<long>(i)); // parents first
    CHECK(names[static_cast<std::size_t>(nodes[3 * 2 + 1])] == evil); // larger sibling first
    CHECK(html::flame_graph({}, "none").empty());
}

TEST_CASE("differential flame graph data: both traces' bytes per frame") {
    const std::vector<StackChange> stacks = {{{"main", "grow"}, 100, 900}, {{"main", "shrink"}, 800, 200}};
    const auto blocks = flame_data(html::diff_flame_graph(stacks, "diff"));
    REQUIRE(blocks.size() == 1);
    CHECK(blocks[0]["diff"] == true);
    const auto nodes = blocks[0]["nodes"].get<std::vector<long>>();
    REQUIRE(nodes.size() == 4 * 4); // all, main, grow, shrink
    CHECK(nodes[2] == 900);
    CHECK(nodes[3] == 1100);
    CHECK(nodes[4 * 2 + 2] == 100); // grow: max 900 is the larger, so it comes first
    CHECK(nodes[4 * 2 + 3] == 900);
}

TEST_CASE("the flame script never evaluates or parses trace text as markup") {
    const std::string script = html::flame_script();
    CHECK(script.rfind("<script>", 0) == 0);
    for (const char* banned : {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function(",
                               "RegExp", "setTimeout(\"", "javascript:"}) {
        INFO(banned);
        CHECK(script.find(banned) == std::string::npos);
    }
    CHECK(script.find("textContent") != std::string::npos);
    CHECK(script.find("JSON.parse") != std::string::npos);
    CHECK(script.find("</script>") == script.size() - std::string("</script>\n").size()); // closes only itself
}

TEST_CASE("stacks of a recorded trace: live at the end is what the program never freed") {
    // os._exit skips the interpreter's own cleanup: the 30 MB it keeps are never freed.
    ScratchDir dir("memopt-leaks");
    std::ofstream(dir / "leak.py") << "import os\nkeep = [bytearray(5_000_000) for i in range(6)]\n"
                                      "tmp = [bytearray(5_000_000) for i in range(6)]\ndel tmp\nos._exit(0)\n";
    const auto trace = dir / "leak.trace";
    const auto result = run(fmt::format("{} record -o {} --stacks -- /usr/bin/python3 {} 2>&1", quote(MEMOPT_BINARY),
                                        quote(trace.string()), quote((dir / "leak.py").string())));
    INFO(result.out);
    REQUIRE(result.status == 0);
    const auto stacks = collect_stacks(trace);
    std::uint64_t end = 0;
    for (const auto& stack : stacks.live_at_end) end += stack.bytes;
    const auto summary = summarize_trace(trace);
    CHECK(end >= 29'000'000);
    CHECK(end <= summary.leaked_bytes + summary.leaked_mapped_bytes + 1'000'000); // sampled, so about the same
    CHECK(stacks.live_peak_bytes >= 55'000'000); // all 12 were live at the peak
    const auto lines = weights_by_line(stacks.live_at_end);
    REQUIRE(!lines.empty());
    CHECK(lines[0].bytes >= 29'000'000); // one line made the bytearrays
}

TEST_CASE("html report of a trace: lines at the peak, three zoomable flame graphs, one script") {
    const auto summary = summarize_trace(recorded_trace());
    const auto stacks = collect_stacks(recorded_trace());
    const std::string page = trace_report_html(summary, &stacks);
    CHECK(page.find("Top allocating lines at the peak") != std::string::npos);
    const auto blocks = flame_data(page);
    REQUIRE(blocks.size() == 3);
    CHECK(blocks[2]["title"].get<std::string>().starts_with("Live at the end"));
    // Exactly one script runs: the flame script, after the data it reads.
    const std::string script = html::flame_script();
    const auto at = page.find(script);
    REQUIRE(at != std::string::npos);
    CHECK(page.find(script, at + 1) == std::string::npos);
    std::size_t scripts = 0;
    for (auto pos = page.find("<script"); pos != std::string::npos; pos = page.find("<script", pos + 1)) ++scripts;
    CHECK(scripts == 4);
    CHECK(page.rfind("class=\"flame-data\"") < at);
}
