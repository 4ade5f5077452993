#pragma once
// JUnit XML, the test-report format CI systems (GitHub Actions reporters, GitLab, Jenkins,
// Azure) render: one <testsuite> holding the gate as one <testcase>.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace memopt::reports {

struct JunitCase {
    std::string suite = "memopt.gate";
    std::string name;                    // e.g. the command line
    std::string classname = "memopt.gate";
    double time_s = 0;
    std::optional<std::string> failure;  // the limit was exceeded: message
    std::optional<std::string> error;    // the command itself failed: message
    std::string details;                 // body of <failure>/<error> (the summary text)
    std::string system_out;              // shown by most renderers beside the case
};

std::string junit_xml(const JunitCase& test);

// Escapes text for XML 1.0 content and attribute values: & < > " ' become entities;
// characters XML 1.0 cannot carry (control characters other than tab, LF, CR; invalid
// UTF-8) become U+FFFD so the document always parses.
std::string xml_escape(std::string_view text);

} // namespace memopt::reports
