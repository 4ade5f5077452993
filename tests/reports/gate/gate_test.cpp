// memopt gate: the verdict logic (reports/gate.h, reports/junit.h) and the command end to end.
#include "common/error.h"
#include "reports/gate/gate.h"
#include "reports/gate/junit.h"
#include "reports/render/summary_format.h"
#include "tests/support/run.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <fstream>
#include <sys/stat.h>

using namespace memopt::reports;
using memopt::test::quote;
using memopt::test::read_file;
using memopt::test::run;
using memopt::test::ScratchDir;

namespace {

const std::string kMemopt = MEMOPT_BINARY;
const std::string kWorkload = GATE_WORKLOAD_BINARY;
constexpr std::uint64_t kMiB = 1 << 20;

Summary summary_with(std::uint64_t heap, std::uint64_t rss) {
    Summary s;
    s.command = {"prog"};
    s.exit_known = true;
    s.peak_heap_bytes = heap;
    s.peak_rss_bytes = rss;
    return s;
}

void write(const std::filesystem::path& path, const std::string& text) { std::ofstream(path) << text; }

// Parses XML with Python's expat-based parser: the JUnit output must be well-formed.
std::string xml_check(const std::filesystem::path& path) {
    return run(fmt::format("/usr/bin/python3 -c \"import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); "
                           "print(r.get('tests'), r.get('failures'), r.get('errors'))\" {}",
                           quote(path.string())))
        .out;
}

} // namespace

TEST_CASE("gate verdict: within, at and over an absolute limit") {
    const auto limit = limit_from_size(100 * kMiB, GateMetric::kPeakHeap, "100MiB");
    const auto pass = evaluate_gate(summary_with(60 * kMiB, 999 * kMiB), limit);
    CHECK(pass.passed);
    CHECK(pass.measured == 60 * kMiB);
    CHECK(pass.line.find("PASS peak_heap 62.9 MB (60.0 MiB) within limit 104.9 MB (100.0 MiB) (--max-peak 100MiB)") != std::string::npos);
    CHECK(evaluate_gate(summary_with(100 * kMiB, 0), limit).passed); // the limit itself is allowed
    const auto fail = evaluate_gate(summary_with(125 * kMiB, 0), limit);
    CHECK_FALSE(fail.passed);
    CHECK(fail.margin_bytes == static_cast<std::int64_t>(25 * kMiB));
    CHECK(fail.margin_percent == Approx(25.0));
    CHECK(fail.line.find("FAIL peak_heap 131.1 MB (125.0 MiB) exceeds limit 104.9 MB (100.0 MiB)") != std::string::npos);
    CHECK(fail.line.find("by 26.2 MB (25.0 MiB) (+25.0%)") != std::string::npos);
}

TEST_CASE("gate verdict: baseline plus tolerance, per metric") {
    const auto baseline = summary_with(50 * kMiB, 80 * kMiB);
    const auto rss = limit_from_baseline(baseline, GateMetric::kPeakRss, 10, "base.json");
    CHECK(rss.limit_bytes == 88 * kMiB);
    CHECK(evaluate_gate(summary_with(0, 88 * kMiB), rss).passed);
    CHECK_FALSE(evaluate_gate(summary_with(0, 88 * kMiB + 1), rss).passed);
    const auto heap = limit_from_baseline(baseline, GateMetric::kPeakHeap, 0, "base.json");
    CHECK(heap.limit_bytes == 50 * kMiB);
    CHECK_THROWS_AS(limit_from_baseline(baseline, GateMetric::kPeakRss, -1, "b"), memopt::Error);
    CHECK_THROWS_AS(limit_from_baseline(summary_with(0, 0), GateMetric::kPeakRss, 5, "b"), memopt::Error);
    CHECK_THROWS_AS(parse_gate_metric("peak"), memopt::Error);
    CHECK(parse_gate_metric("peak_heap") == GateMetric::kPeakHeap);
}

TEST_CASE("gate: summary files are read with bounds, saved atomically, never through symlinks") {
    ScratchDir dir("gate-files");
    auto s = summary_with(7 * kMiB, 9 * kMiB);
    save_summary_file(s, dir / "base.json", false);
    const auto back = read_summary_file(dir / "base.json");
    CHECK(back.peak_heap_bytes == 7 * kMiB);
    CHECK(back.peak_rss_bytes == 9 * kMiB);
    CHECK_THROWS_WITH(save_summary_file(summary_with(1, 2), dir / "base.json", false), Catch::Contains("--force"));
    save_summary_file(summary_with(1, 2), dir / "base.json", true); // replaces
    CHECK(read_summary_file(dir / "base.json").peak_rss_bytes == 2);

    write(dir / "deep.json", std::string(100000, '[') + std::string(100000, ']'));
    CHECK_THROWS_WITH(read_summary_file(dir / "deep.json"), Catch::Contains("nested deeper"));
    write(dir / "bad.json", "{\"schema\": \"memopt.summary/1\", \"peak_rss_bytes\": \"lots\"}");
    CHECK_THROWS_WITH(read_summary_file(dir / "bad.json"), Catch::Contains("bad.json"));
    write(dir / "other.json", "{\"schema\": \"something/2\"}");
    CHECK_THROWS_WITH(read_summary_file(dir / "other.json"), Catch::Contains("schema"));
    CHECK_THROWS_WITH(read_summary_file(dir / "missing.json"), Catch::Contains("missing.json"));
    CHECK_THROWS_WITH(read_summary_file("/dev/zero"), Catch::Contains("not a regular file"));
    REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
    CHECK_THROWS_WITH(read_summary_file(dir / "fifo"), Catch::Contains("not a regular file"));

    write(dir / "victim", "keep");
    std::filesystem::create_symlink(dir / "victim", dir / "link.json");
    CHECK_THROWS_WITH(save_summary_file(s, dir / "link.json", true), Catch::Contains("symbolic link"));
    CHECK(read_file(dir / "victim") == "keep");
}

TEST_CASE("JUnit XML escapes everything and stays well-formed") {
    CHECK(xml_escape("a<b>&\"c'") == "a&lt;b&gt;&amp;&quot;c&apos;");
    CHECK(xml_escape(std::string("x\x01y\x1b", 4)) == "x\xEF\xBF\xBDy\xEF\xBF\xBD");
    CHECK(xml_escape("\xff\xfe ok") == "\xEF\xBF\xBD\xEF\xBF\xBD ok");
    CHECK(xml_escape("caf\xC3\xA9 \xE2\x82\xAC") == "caf\xC3\xA9 \xE2\x82\xAC");
    CHECK(xml_escape("]]>") == "]]&gt;");

    ScratchDir dir("gate-junit");
    JunitCase test;
    test.name = "python3 -c '</testcase><x>\x02\xc3'";
    test.failure = "FAIL <&>";
    test.details = "details ]]> \x7f";
    test.system_out = "out";
    write(dir / "j.xml", junit_xml(test));
    CHECK(xml_check(dir / "j.xml") == "1 1 0\n");
}

TEST_CASE("GitHub annotation escapes %, CR and LF") {
    CHECK(github_error_annotation("memopt gate", "50% over\nnext") == "::error title=memopt gate::50%25 over%0Anext");
    CHECK(github_error_annotation("a:b,c", "m") == "::error title=a%3Ab%2Cc::m");
}

TEST_CASE("memopt gate end to end: pass, fail, JUnit, GitHub annotation") {
    ScratchDir dir("gate-e2e");
    const auto pass = run(fmt::format("{} gate --max-peak 64MiB --metric peak_heap --junit {} -- {} 8", kMemopt,
                                      quote((dir / "pass.xml").string()), kWorkload));
    CHECK(pass.status == 0);
    CHECK(pass.out == "allocated 8 MiB\n"); // the command's output, untouched
    CHECK(pass.err.find("memopt gate: PASS peak_heap") != std::string::npos);
    CHECK(pass.err.find("peak heap") != std::string::npos); // the summary
    CHECK(xml_check(dir / "pass.xml") == "1 0 0\n");

    const auto fail = run(fmt::format("GITHUB_ACTIONS=true {} gate --max-peak 16MiB --metric peak_heap --junit {} -- {} 40",
                                      kMemopt, quote((dir / "fail.xml").string()), kWorkload));
    CHECK(fail.status == 1);
    CHECK(fail.err.find("memopt gate: FAIL peak_heap 4") != std::string::npos);
    CHECK(fail.err.find("exceeds limit 16.8 MB (16.0 MiB) (--max-peak 16MiB) by 2") != std::string::npos);
    CHECK(fail.out.find("::error title=memopt gate::memopt gate: FAIL peak_heap") != std::string::npos);
    CHECK(xml_check(dir / "fail.xml") == "1 1 0\n");
    CHECK(read_file(dir / "fail.xml").find("MemoryLimitExceeded") != std::string::npos);

    // peak_rss, the default metric, also sees the 40 MiB.
    const auto rss = run(fmt::format("{} gate --max-peak 30MiB -- {} 40", kMemopt, kWorkload));
    CHECK(rss.status == 1);
    CHECK(rss.err.find("FAIL peak_rss") != std::string::npos);
}

TEST_CASE("memopt gate end to end: baseline saved, then compared with a tolerance") {
    ScratchDir dir("gate-baseline");
    const std::string base = quote((dir / "base.json").string());
    REQUIRE(run(fmt::format("{} gate --save {} -- {} 20", kMemopt, base, kWorkload)).status == 0);
    const auto saved = read_summary_file(dir / "base.json");
    CHECK(saved.peak_heap_bytes >= 20 * kMiB);
    const auto near = run(fmt::format("{} gate --baseline {} --tolerance 10 --metric peak_heap -- {} 21", kMemopt, base, kWorkload));
    CHECK(near.status == 0);
    CHECK(near.err.find("PASS") != std::string::npos);
    const auto grown = run(fmt::format("{} gate --baseline {} --metric peak_heap -- {} 30", kMemopt, base, kWorkload));
    CHECK(grown.status == 1);
    CHECK(grown.err.find("FAIL peak_heap") != std::string::npos);
    CHECK(grown.err.find("baseline") != std::string::npos);
}

TEST_CASE("memopt gate: a failing command passes its status through, with a message") {
    ScratchDir dir("gate-status");
    const auto failed = run(fmt::format("{} gate --max-peak 1GiB --junit {} -- {} 1 5", kMemopt,
                                        quote((dir / "j.xml").string()), kWorkload));
    CHECK(failed.status == 5);
    CHECK(failed.err.find("the command failed with status 5") != std::string::npos);
    CHECK(xml_check(dir / "j.xml") == "1 0 1\n");
    const auto killed = run(fmt::format("{} gate --max-peak 1GiB -- sh -c 'kill -9 $$'", kMemopt));
    CHECK(killed.status == 137);
    CHECK(killed.err.find("killed by signal 9") != std::string::npos);
}

TEST_CASE("memopt gate: usage and input errors exit 2 with one line, before running anything") {
    ScratchDir dir("gate-usage");
    const std::string marker = (dir / "ran").string();
    const std::string command = "touch " + quote(marker);
    auto usage = [&](const std::string& options) {
        const auto r = run(fmt::format("{} gate {} -- {}", kMemopt, options, command));
        INFO(options << " -> " << r.err);
        CHECK(r.status == 2);
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
        CHECK(r.err.rfind("memopt gate: ", 0) == 0);
        CHECK_FALSE(std::filesystem::exists(marker));
        return r.err;
    };
    usage("");
    usage("--max-peak 1GB --baseline x.json");
    usage("--max-peak lots");
    usage("--max-peak 1GB --metric peak_vms");
    usage("--max-peak 1GB --tolerance 5");
    usage("--baseline " + quote((dir / "missing.json").string()));
    write(dir / "notjson.json", "MEMOPTTR not json");
    CHECK(usage("--baseline " + quote((dir / "notjson.json").string())).find("not valid JSON") != std::string::npos);
    usage("--max-peak 1GB --junit " + quote((dir / "no/such/dir/j.xml").string()));
    usage("--bogus");
    const auto none = run(fmt::format("{} gate --max-peak 1GB", kMemopt));
    CHECK(none.status == 2);
    CHECK(none.err.find("no command given") != std::string::npos);
    const auto missing = run(fmt::format("{} gate --max-peak 1GB -- /no/such/program", kMemopt));
    CHECK(missing.status == 2);
}

TEST_CASE("memopt gate never executes content of a baseline") {
    ScratchDir dir("gate-untrusted");
    const std::string marker = (dir / "pwned").string();
    auto base = summary_to_json(summary_with(64 * kMiB, 64 * kMiB));
    base["command"] = {"sh", "-c", "touch " + marker};
    base["phases"] = nlohmann::json::array({{{"name", "$(touch " + marker + ")"}}});
    write(dir / "base.json", base.dump());
    const auto r = run(fmt::format("{} gate --baseline {} -- {} 1", kMemopt, quote((dir / "base.json").string()), kWorkload));
    CHECK(r.status == 0);
    CHECK_FALSE(std::filesystem::exists(marker));
    const auto report = run(fmt::format("{} report {}", kMemopt, quote((dir / "base.json").string())));
    CHECK(report.status == 0);
    CHECK_FALSE(std::filesystem::exists(marker));
}

TEST_CASE("memopt gate: temporary trace removed, --trace kept with mode 0600") {
    ScratchDir dir("gate-trace");
    std::filesystem::create_directory(dir / "tmp");
    const auto r = run(fmt::format("TMPDIR={} {} gate --max-peak 1GiB -- sh -c '{} 2 && {} 1'", quote((dir / "tmp").string()),
                                   kMemopt, kWorkload, kWorkload));
    CHECK(r.status == 0);
    CHECK(std::filesystem::is_empty(dir / "tmp"));
    const auto kept = run(fmt::format("{} gate --max-peak 1GiB --trace {} -- {} 2", kMemopt, quote((dir / "t.trace").string()), kWorkload));
    CHECK(kept.status == 0);
    struct stat info {};
    REQUIRE(::stat((dir / "t.trace").c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0600);
    // --trace never replaces an existing file (nor follows a symlink there).
    std::filesystem::create_symlink(dir / "victim", dir / "link.trace");
    const auto refused = run(fmt::format("{} gate --max-peak 1GiB --trace {} -- {} 2", kMemopt, quote((dir / "link.trace").string()), kWorkload));
    CHECK(refused.status == 2);
    CHECK_FALSE(std::filesystem::exists(dir / "victim"));
}

TEST_CASE("security: the HTML report escapes everything that comes from the trace") {
    ScratchDir dir("gate-html");
    const std::string hostile = "<script>alert(1)</script>";
    const std::string phase = "<img src=x onerror=alert(2)>";
    const auto recorded = run(fmt::format(
        "cd {} && {} record -q -o t.trace -- /usr/bin/python3 -c {} {}", quote(dir.path().string()), kMemopt,
        quote(fmt::format("import memopt, sys\nwith memopt.phase('{}'):\n    x = bytearray(10**6)\n", phase)), quote(hostile)));
    REQUIRE(recorded.status == 0);
    const auto html = run(fmt::format("{} report {} --format html", kMemopt, quote((dir / "t.trace").string())));
    REQUIRE(html.status == 0);
    CHECK(html.out.find(hostile) == std::string::npos);
    CHECK(html.out.find(phase) == std::string::npos);
    CHECK(html.out.find("onerror=alert(2)") != std::string::npos); // present, but as text
    CHECK(html.out.find("&lt;img src=x onerror=alert(2)&gt;") != std::string::npos);
}

TEST_CASE("gate: a baseline's fields are checked for type and range (issue 12, item 16)") {
    ScratchDir dir("gate-baseline-range");
    auto base = summary_to_json(summary_with(64 * kMiB, 64 * kMiB));
    auto refused = [&](const char* field, const nlohmann::json& value) {
        auto bad = base;
        bad[field] = value;
        write(dir / "b.json", bad.dump());
        INFO(field << " = " << value.dump());
        CHECK_THROWS_WITH(read_summary_file(dir / "b.json"), Catch::Contains(field) && Catch::Contains("b.json"));
    };
    refused("peak_rss_bytes", -5);          // was read as 16777216 TiB: every run passed
    refused("peak_rss_bytes", 1e308);
    refused("peak_rss_bytes", 1.5);
    refused("peak_heap_bytes", "lots");
    refused("duration_s", -1.0);
    refused("exit_code", 1e12);
    refused("killed_by_signal", "yes");
    refused("warnings", nlohmann::json::array({1}));
    refused("command", "sh -c x");
    auto phase = base;
    phase["phases"] = nlohmann::json::array({{{"name", "load"}, {"peak_rss_bytes", -1}}});
    write(dir / "b.json", phase.dump());
    CHECK_THROWS_WITH(read_summary_file(dir / "b.json"), Catch::Contains("phases[0].peak_rss_bytes"));
    auto missing = base;
    missing.erase("peak_rss_bytes");
    write(dir / "b.json", missing.dump());
    CHECK_THROWS_WITH(read_summary_file(dir / "b.json"), Catch::Contains("peak_rss_bytes") && Catch::Contains("missing"));
    // The CLI: one line, exit 2, nothing run.
    write(dir / "neg.json", [&] { auto b = base; b["peak_rss_bytes"] = -5; return b.dump(); }());
    const std::string marker = (dir / "ran").string();
    const auto r = run(fmt::format("{} gate --baseline {} -- touch {}", kMemopt, quote((dir / "neg.json").string()), quote(marker)));
    CHECK(r.status == 2);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.find("peak_rss_bytes") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(marker));
}

TEST_CASE("gate: a summary file round-trips every field it carries") {
    ScratchDir dir("gate-roundtrip");
    Summary s = summary_with(5, 6);
    s.killed_by_signal = true;
    s.exit_code = 137;
    s.top_sites.push_back({{"malloc", "main"}, 100, 2});
    s.timeline.push_back({0.5, 7, 8});
    s.warnings.push_back("lost 3 events");
    s.child_traces.push_back("t.trace.42");
    save_summary_file(s, dir / "s.json", false);
    const auto back = read_summary_file(dir / "s.json");
    CHECK(back.exit_code == 137);
    CHECK(back.killed_by_signal);
    REQUIRE(back.top_sites.size() == 1);
    CHECK(back.top_sites[0].stack == std::vector<std::string>{"malloc", "main"});
    REQUIRE(back.timeline.size() == 1);
    CHECK(back.timeline[0].rss_bytes == 8);
    CHECK(back.warnings == s.warnings);
    CHECK(back.child_traces == s.child_traces);
}

TEST_CASE("memopt gate: outputs are checked before the command runs, --force replaces (issue 12, item 17)") {
    ScratchDir dir("gate-outputs");
    const std::string marker = (dir / "ran").string();
    auto refused = [&](const std::string& options, const std::string& expected) {
        const auto r = run(fmt::format("{} gate --max-peak 1GiB {} -- touch {}", kMemopt, options, quote(marker)));
        INFO(options << " -> " << r.err);
        CHECK(r.status == 2);
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
        CHECK(r.err.find(expected) != std::string::npos);
        CHECK_FALSE(std::filesystem::exists(marker));
    };
    write(dir / "victim", "keep");
    std::filesystem::create_symlink(dir / "victim", dir / "link.xml");
    refused("--junit " + quote((dir / "link.xml").string()), "symbolic link");      // was: after the command ran
    refused("--force --junit " + quote((dir / "link.xml").string()), "symbolic link");
    refused("--save " + quote((dir / "link.xml").string()), "symbolic link");
    REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
    refused("--force --junit " + quote((dir / "fifo").string()), "FIFO");
    write(dir / "old.trace", "old");
    write(dir / "old.xml", "old");
    refused("--trace " + quote((dir / "old.trace").string()), "use --force");       // and --force now exists
    refused("--junit " + quote((dir / "old.xml").string()), "use --force");
    refused("--junit " + quote((dir / "same").string()) + " --save " + quote((dir / "same").string()), "two outputs");
    CHECK(read_file(dir / "victim") == "keep");

    const auto forced = run(fmt::format("{} gate --max-peak 1GiB --force --trace {} --junit {} --save {} -- {} 1", kMemopt,
                                        quote((dir / "old.trace").string()), quote((dir / "old.xml").string()),
                                        quote((dir / "s.json").string()), kWorkload));
    CHECK(forced.status == 0);
    CHECK(xml_check(dir / "old.xml") == "1 0 0\n");
    struct stat info {};
    for (const char* name : {"old.xml", "s.json", "old.trace"}) {
        REQUIRE(::stat((dir / name).c_str(), &info) == 0);
        INFO(name);
        CHECK((info.st_mode & 0777) == 0600);
    }
}
