// memopt report --diff: the site-level comparison of two traces (reports/analysis/trace_diff.h),
// its text and HTML faces, and the command end to end on two recorded programs.
#include "reports/analysis/trace_diff.h"
#include "reports/render/diff_report.h"
#include "reports/render/html.h"
#include "tests/reports/common.h"

using namespace memopt;
using namespace memopt::reports;
using namespace memopt::test;

namespace {

StackProfile profile(std::vector<WeightedStack> allocated, std::vector<WeightedStack> peak) {
    StackProfile stacks;
    stacks.stack_sample_bytes = 1;
    stacks.allocated = std::move(allocated);
    stacks.live_at_peak = std::move(peak);
    return stacks;
}

Summary summary(std::uint64_t peak, std::uint64_t allocations) {
    Summary s;
    s.peak_heap_bytes = peak;
    s.total_allocations = allocations;
    s.stack_sample_bytes = 1;
    return s;
}

} // namespace

TEST_CASE("diff_profiles: one site per line, sorted by the largest change of peak bytes") {
    const auto before = profile({{{"main (a)", "load (a)"}, 1000, 10}, {{"main (a)", "fit (a)", "malloc (libc.so.6)"}, 500, 5},
                                 {{"main (a)", "same (a)"}, 70, 7}},
                                {{{"main (a)", "load (a)"}, 800, 8}, {{"main (a)", "fit (a)", "malloc (libc.so.6)"}, 300, 3},
                                 {{"main (a)", "same (a)"}, 70, 7}});
    // After: load shrank, fit grew through a second path, a new site appeared.
    const auto after = profile({{{"main (a)", "load (a)"}, 200, 2}, {{"main (a)", "fit (a)"}, 600, 6},
                                {{"main (a)", "other (a)", "fit (a)"}, 100, 1}, {{"main (a)", "new<&> (a)"}, 50, 1},
                                {{"main (a)", "same (a)"}, 70, 7}},
                               {{{"main (a)", "load (a)"}, 100, 1}, {{"main (a)", "fit (a)"}, 550, 5},
                                {{"main (a)", "other (a)", "fit (a)"}, 100, 1}, {{"main (a)", "new<&> (a)"}, 50, 1},
                                {{"main (a)", "same (a)"}, 70, 7}});
    const auto diff = diff_profiles(summary(5000, 22), &before, summary(4000, 17), &after);
    REQUIRE(diff.stacks);
    REQUIRE(diff.sites.size() == 4);
    CHECK(diff.sites[0].site == "load (a)"); // -700 at the peak
    CHECK(diff.sites[0].peak_change() == -700);
    CHECK(diff.sites[0].bytes_change() == -800);
    CHECK(diff.sites[0].count_change() == -8);
    CHECK(diff.sites[1].site == "fit (a)"); // +350: both paths to fit are one site
    CHECK(diff.sites[1].peak_after == 650);
    CHECK(diff.sites[1].bytes_after == 700);
    CHECK(diff.sites[2].site == "new<&> (a)");
    CHECK(diff.sites[2].peak_before == 0);
    CHECK(diff.sites[3].site == "same (a)");
    CHECK(diff.sites[3].peak_change() == 0);
    // The flame graph's stacks keep their paths: fit's old stack (through malloc) and its new one.
    CHECK(diff.peak_stacks.size() == 6);
    const auto totals = diff_totals(diff);
    REQUIRE(totals.size() == 6);
    CHECK(totals[0].name == "peak heap");
    CHECK(totals[0].before == 5000);
    CHECK(totals[0].after == 4000);

    const std::string text = trace_diff_text(diff, 2);
    INFO(text);
    CHECK(text.find("peak heap") < text.find("load (a)")); // totals on top
    CHECK(text.find("(-20.0 %)") != std::string::npos);
    CHECK(text.find("load (a)") < text.find("fit (a)"));
    CHECK(text.find("new<&>") == std::string::npos); // --top 2
    CHECK(text.find("1 more changed sites") != std::string::npos);
    CHECK(text.find("1 sites unchanged") != std::string::npos);

    const std::string page = trace_diff_html(diff, 10);
    CHECK(page.find("new&lt;&amp;&gt; (a)") != std::string::npos);
    CHECK(page.find("new<&>") == std::string::npos);
    CHECK(page.find("Differential flame graph") != std::string::npos);
    CHECK(page.find("class=\"flame-data\"") != std::string::npos);
}

TEST_CASE("diff_profiles without stacks: totals only, and it says why") {
    const auto diff = diff_profiles(summary(10, 1), nullptr, summary(20, 2), nullptr);
    CHECK_FALSE(diff.stacks);
    CHECK(diff.sites.empty());
    const std::string text = trace_diff_text(diff, 10);
    CHECK(text.find("(+100.0 %)") != std::string::npos);
    CHECK(text.find("memopt record --stacks") != std::string::npos);
    CHECK(trace_diff_html(diff, 10).find("memopt record --stacks") != std::string::npos);
}

TEST_CASE("memopt report --diff BEFORE AFTER: text and html of two recorded programs, bad input refused") {
    ScratchDir dir("memopt-diff");
    const auto script = dir / "more.py";
    std::ofstream(script) << "keep = [bytearray(5_000_000) for i in range(20)]\n";
    const auto after = dir / "after.trace";
    auto result = run(fmt::format("{} record -o {} --stacks -- /usr/bin/python3 {} 2>&1", quote(MEMOPT_BINARY),
                                  quote(after.string()), quote(script.string())));
    REQUIRE(result.status == 0);
    const std::string memopt = quote(MEMOPT_BINARY), before = quote(recorded_trace().string());

    result = run(fmt::format("{} report --diff {} {}", memopt, before, quote(after.string())));
    INFO(result.out << result.err);
    REQUIRE(result.status == 0);
    CHECK(result.out.find("peak heap") < result.out.find("sites by the largest change"));
    // 12 x 5 MB live at the first program's peak, 20 x 5 MB at the second's: the top site grew
    // by 40 MB, or by 100 MB when the lines differ (Python frames name the scripts); MB = 10^6 bytes.
    const auto first_site = result.out.find('\n', result.out.find("peak change")) + 1;
    const std::string line = result.out.substr(first_site, result.out.find('\n', first_site) - first_site);
    INFO(line);
    const auto plus = line.find_first_not_of(' ');
    REQUIRE(line[plus] == '+');
    CHECK(std::stod(line.substr(plus + 1)) >= 38.0);
    CHECK(line.substr(line.find(' ', plus), 4) == " MB ");

    const auto html = dir / "diff.html";
    result = run(fmt::format("{} report --diff {} {} --format html -o {}", memopt, before, quote(after.string()),
                             quote(html.string())));
    REQUIRE(result.status == 0);
    const std::string page = read_file(html);
    CHECK(page.find("Differential flame graph") != std::string::npos);
    CHECK(page.find("we<ird>") == std::string::npos); // the trace's path (and any frame) escaped
    CHECK(page.find(html::escape(recorded_trace().string())) != std::string::npos);

    // The same file twice: nothing changed.
    result = run(fmt::format("{} report --diff {} {}", memopt, before, before));
    CHECK(result.status == 0);
    CHECK(result.out.find("sites unchanged") != std::string::npos);

    // Bad input: one line, exit 2.
    std::ofstream(dir / "corrupt.trace") << "MEMOPTTR" << std::string(100, 'x');
    std::ofstream(dir / "text.txt") << "hello\n";
    for (const std::string& args :
         {fmt::format("--diff {} {}", before, quote((dir / "missing.trace").string())),
          fmt::format("--diff {} {}", quote((dir / "corrupt.trace").string()), before),
          fmt::format("--diff {} {}", before, quote((dir / "text.txt").string())), fmt::format("--diff {}", before),
          fmt::format("--diff {} {} --format folded", before, before), fmt::format("{} --diff {} {}", before, before, before)}) {
        result = run(fmt::format("{} report {}", memopt, args));
        INFO(args << ": " << result.err);
        CHECK(result.status == 2);
        CHECK(std::count(result.err.begin(), result.err.end(), '\n') == 1);
        CHECK(result.out.empty());
    }
}
