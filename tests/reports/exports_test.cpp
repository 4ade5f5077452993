// memopt report --format folded|massif|speedscope|html on a real recorded trace, and the
// exports' formats checked by the tools that read them (ms_print, a JSON parser, xmllint).
#include "reports/render/exports.h"
#include "reports/analysis/stacks.h"
#include "reports/render/html.h"
#include "tests/reports/common.h"

#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

using namespace memopt;
using namespace memopt::test;

namespace {

std::string report(const std::filesystem::path& trace, const std::string& format, const ScratchDir& dir) {
    const auto out = dir / ("report." + format);
    const auto result = run(fmt::format("{} report {} --format {} -o {}", quote(MEMOPT_BINARY), quote(trace.string()), format,
                                        quote(out.string())));
    INFO(result.err);
    REQUIRE(result.status == 0);
    return read_file(out);
}

} // namespace

TEST_CASE("folded export: one well-formed line per stack, bytes as weights") {
    ScratchDir dir("memopt-folded");
    const std::string folded = report(recorded_trace(), "folded", dir);
    REQUIRE(!folded.empty());
    std::istringstream lines(folded);
    const std::regex line_format(R"(^[^;\n]+(;[^;\n]+)* [0-9]+$)");
    std::uint64_t total = 0;
    std::size_t count = 0;
    for (std::string line; std::getline(lines, line);) {
        INFO(line);
        REQUIRE(std::regex_match(line, line_format));
        total += std::stoull(line.substr(line.rfind(' ') + 1));
        ++count;
    }
    CHECK(count > 0);
    CHECK(total >= 50'000'000); // the script allocates 60 MB in bytearrays
}

TEST_CASE("massif export: ms_print reads it and shows the peak") {
    ScratchDir dir("memopt-massif");
    report(recorded_trace(), "massif", dir);
    const auto result = run("ms_print " + quote((dir / "report.massif").string()));
    INFO(result.err);
    REQUIRE(result.status == 0);
    CHECK(result.out.find("(peak)") != std::string::npos);
    CHECK(result.out.find("(heap allocation functions)") != std::string::npos);
    // The peak's tree is there with at least 60 MB (printed with thousands separators).
    const auto summary = reports::summarize_trace(recorded_trace());
    CHECK(summary.peak_heap_bytes >= 60'000'000);
    std::string digits = std::to_string(summary.peak_heap_bytes), commified;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i && (digits.size() - i) % 3 == 0) commified += ',';
        commified += digits[i];
    }
    CHECK(result.out.find("(" + commified + "B)") != std::string::npos);
}

TEST_CASE("speedscope export: loads as speedscope's file format") {
    ScratchDir dir("memopt-speedscope");
    const auto json = nlohmann::json::parse(report(recorded_trace(), "speedscope", dir));
    CHECK(json["$schema"] == "https://www.speedscope.app/file-format-schema.json");
    const auto& frames = json["shared"]["frames"];
    REQUIRE(frames.is_array());
    REQUIRE(json["profiles"].size() == 2);
    for (const auto& profile : json["profiles"]) {
        CHECK(profile["type"] == "sampled");
        CHECK(profile["unit"] == "bytes");
        REQUIRE(profile["samples"].size() == profile["weights"].size());
        std::uint64_t total = 0;
        for (const auto& weight : profile["weights"]) total += weight.get<std::uint64_t>();
        CHECK(profile["endValue"].get<std::uint64_t>() == total);
        for (const auto& sample : profile["samples"])
            for (const auto& index : sample) CHECK(index.get<std::size_t>() < frames.size());
    }
    // And Python's parser agrees.
    const auto result = run("/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
                            "assert d[\"profiles\"][0][\"samples\"]' " + quote((dir / "report.speedscope").string()));
    CHECK(result.status == 0);
}

TEST_CASE("html report of a trace: self-contained, escaped, SVG well-formed") {
    ScratchDir dir("memopt-html");
    const std::string html = report(recorded_trace(), "html", dir);
    CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
    // Nothing from the traced program reaches the page unescaped; nothing is fetched. The one
    // script is memopt's own flame script; the flame graphs' data are JSON blocks, never run.
    const std::string script = reports::html::flame_script();
    const std::string data_block = "<script type=\"application/json\" class=\"flame-data\">";
    for (auto pos = html.find("<script"); pos != std::string::npos; pos = html.find("<script", pos + 1)) {
        const bool ours = html.compare(pos, script.size(), script) == 0;
        const bool data = html.compare(pos, data_block.size(), data_block) == 0;
        CHECK((ours || data));
        if (data) CHECK(html.substr(pos + data_block.size(), html.find("</script>", pos) - pos - data_block.size()).find('<') ==
                        std::string::npos);
    }
    CHECK(html.find(script) != std::string::npos);
    CHECK(html.find("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;") != std::string::npos);
    CHECK(html.find("alloc&lt;&amp;&gt;.py") != std::string::npos);
    CHECK(html.find("we&lt;ird&gt; &amp; dir") != std::string::npos);
    CHECK(html.find("http://") == html.find("http://www.w3.org/2000/svg"));
    CHECK(html.find("https://") == std::string::npos);
    const auto svgs = svg_blocks(html);
    REQUIRE(svgs.size() >= 2); // the timeline and at least one flame graph
    for (std::size_t i = 0; i < svgs.size(); ++i) CHECK(well_formed_xml(svgs[i], dir, fmt::format("svg{}.svg", i)));
    CHECK(html.find("Allocation flame graphs") != std::string::npos);
    CHECK(html.find("Phases") != std::string::npos);
}

TEST_CASE("report refuses formats that cannot be made") {
    ScratchDir dir("memopt-formats");
    auto result = run(fmt::format("{} report {} --format pdf", quote(MEMOPT_BINARY), quote(recorded_trace().string())));
    CHECK(result.status == 2);
    CHECK(result.err.find("unknown format 'pdf'") != std::string::npos);
    // A trace recorded without stacks has nothing to fold.
    const auto plain = dir / "plain.trace";
    REQUIRE(run(fmt::format("{} record -o {} -- /bin/true", quote(MEMOPT_BINARY), quote(plain.string()))).status == 0);
    result = run(fmt::format("{} report {} --format folded", quote(MEMOPT_BINARY), quote(plain.string())));
    CHECK(result.status == 2);
    CHECK(result.err.find("--stacks") != std::string::npos);
    // massif and html still work without stacks.
    CHECK(run(fmt::format("{} report {} --format massif -o {}", quote(MEMOPT_BINARY), quote(plain.string()),
                          quote((dir / "m.out").string())))
              .status == 0);
    CHECK(run("ms_print " + quote((dir / "m.out").string()) + " >/dev/null").status == 0);
}

TEST_CASE("massif writer: a sampled estimate above the exact peak is scaled down for ms_print") {
    ScratchDir dir("memopt-massif-unit");
    reports::Summary summary;
    summary.command = {"prog", "#not a comment"};
    summary.peak_heap_bytes = 1000;
    summary.peak_heap_time_s = 0.5;
    summary.timeline = {{0.1, 200, 4096}, {0.5, 1000, 8192}, {0.9, 300, 8192}};
    reports::StackProfile stacks;
    stacks.stack_sample_bytes = 100;
    stacks.live_at_peak = {{{"main", "a;b#c"}, 900, 3}, {{"main", "small"}, 5, 1}, {{"other"}, 400, 1}};
    stacks.live_peak_bytes = 1305;
    std::ofstream(dir / "massif.out") << reports::to_massif(summary, stacks);
    const auto result = run("ms_print " + quote((dir / "massif.out").string()));
    INFO(read_file(dir / "massif.out"));
    INFO(result.err);
    REQUIRE(result.status == 0);
    CHECK(result.out.find("a:bNo.c") != std::string::npos);
    CHECK(result.out.find("(peak)") != std::string::npos);
}

TEST_CASE("folded writer: frame names cannot break the line format") {
    const std::string folded = reports::to_folded({{{"ma;in", "new\nline"}, 10, 1}, {{"zero"}, 0, 0}});
    CHECK(folded == "ma:in;new line 10\n");
}
