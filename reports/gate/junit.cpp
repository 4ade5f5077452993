#include "reports/gate/junit.h"

#include <fmt/format.h>

namespace memopt::reports {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD"; // U+FFFD

// Length of the valid UTF-8 sequence starting at text[i], 0 when invalid.
std::size_t utf8_length(std::string_view text, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char lead = byte(i);
    std::size_t length = 0;
    std::uint32_t code = 0;
    if (lead < 0x80) return 1;
    if ((lead & 0xE0) == 0xC0) length = 2, code = lead & 0x1F;
    else if ((lead & 0xF0) == 0xE0) length = 3, code = lead & 0x0F;
    else if ((lead & 0xF8) == 0xF0) length = 4, code = lead & 0x07;
    else return 0;
    if (i + length > text.size()) return 0;
    for (std::size_t k = 1; k < length; ++k) {
        if ((byte(i + k) & 0xC0) != 0x80) return 0;
        code = (code << 6) | (byte(i + k) & 0x3F);
    }
    static constexpr std::uint32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < kMinimum[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
    if (code == 0xFFFE || code == 0xFFFF) return 0; // not XML characters
    return length;
}

} // namespace

std::string xml_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const char c = text[i];
        switch (c) {
        case '&': out += "&amp;"; ++i; continue;
        case '<': out += "&lt;"; ++i; continue;
        case '>': out += "&gt;"; ++i; continue;
        case '"': out += "&quot;"; ++i; continue;
        case '\'': out += "&apos;"; ++i; continue;
        case '\t': case '\n': out += c; ++i; continue;
        case '\r': out += "&#13;"; ++i; continue;
        default: break;
        }
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            out += kReplacement;
            ++i;
            continue;
        }
        const std::size_t length = utf8_length(text, i);
        if (length == 0) {
            out += kReplacement;
            ++i;
            continue;
        }
        out.append(text.substr(i, length));
        i += length;
    }
    return out;
}

std::string junit_xml(const JunitCase& test) {
    const bool failed = test.failure.has_value();
    const bool errored = test.error.has_value();
    std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    xml += fmt::format("<testsuites name=\"memopt\" tests=\"1\" failures=\"{}\" errors=\"{}\" time=\"{:.3f}\">\n",
                       failed ? 1 : 0, errored ? 1 : 0, test.time_s);
    xml += fmt::format("  <testsuite name=\"{}\" tests=\"1\" failures=\"{}\" errors=\"{}\" skipped=\"0\" time=\"{:.3f}\">\n",
                       xml_escape(test.suite), failed ? 1 : 0, errored ? 1 : 0, test.time_s);
    xml += fmt::format("    <testcase name=\"{}\" classname=\"{}\" time=\"{:.3f}\">\n", xml_escape(test.name),
                       xml_escape(test.classname), test.time_s);
    if (errored)
        xml += fmt::format("      <error message=\"{}\" type=\"CommandFailed\">{}</error>\n", xml_escape(*test.error),
                           xml_escape(test.details));
    if (failed)
        xml += fmt::format("      <failure message=\"{}\" type=\"MemoryLimitExceeded\">{}</failure>\n",
                           xml_escape(*test.failure), xml_escape(test.details));
    if (!test.system_out.empty())
        xml += fmt::format("      <system-out>{}</system-out>\n", xml_escape(test.system_out));
    xml += "    </testcase>\n  </testsuite>\n</testsuites>\n";
    return xml;
}

} // namespace memopt::reports
