#pragma once
// Shared by the reports tests: a recorded trace of a small Python program whose path and
// phase name need escaping, and small helpers.
#include "tests/support/run.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <fstream>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

namespace memopt::test {

inline const char* kEvilPhase = "<script>alert(\"x\")</script>&";

// Records (once per test process) a Python program that allocates ~60 MB in a phase.
inline const std::filesystem::path& recorded_trace() {
    static ScratchDir dir("memopt-reports-trace");
    static std::filesystem::path trace;
    if (!trace.empty()) return trace;
    const auto script_dir = dir / "we<ird> & dir";
    std::filesystem::create_directories(script_dir);
    const auto script = script_dir / "alloc<&>.py";
    {
        std::ofstream file(script);
        file << "import memopt\n"
                "keep = []\n"
                "with memopt.phase('" << kEvilPhase << "'):\n"
                "    for i in range(12):\n"
                "        keep.append(bytearray(5_000_000))\n"
                "with memopt.phase('free'):\n"
                "    del keep[:6]\n"
                "    x = [bytes(1000) for _ in range(2000)]\n";
    }
    trace = dir / "t.trace";
    const auto result = run(fmt::format("{} record -o {} --stacks -- /usr/bin/python3 {} 2>&1", quote(MEMOPT_BINARY),
                                        quote(trace.string()), quote(script.string())));
    INFO(result.out << result.err);
    REQUIRE(result.status == 0);
    return trace;
}

// Every <svg ...>...</svg> block of an HTML page.
inline std::vector<std::string> svg_blocks(const std::string& html) {
    std::vector<std::string> blocks;
    for (std::size_t pos = html.find("<svg"); pos != std::string::npos; pos = html.find("<svg", pos + 1)) {
        const auto end = html.find("</svg>", pos);
        if (end == std::string::npos) break;
        blocks.push_back(html.substr(pos, end + 6 - pos));
    }
    return blocks;
}

// True when xmllint accepts `xml` as well-formed.
inline bool well_formed_xml(const std::string& xml, const ScratchDir& dir, const std::string& name) {
    const auto path = dir / name;
    std::ofstream(path) << xml;
    const auto result = run("xmllint --noout " + quote(path.string()) + " 2>&1");
    UNSCOPED_INFO(result.out);
    return result.status == 0;
}

} // namespace memopt::test
