#include "common/sizes.h"

#include "common/error.h"

#include <array>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fmt/format.h>

namespace memopt {
namespace {

struct Unit {
    std::string_view name;
    double factor;
};

constexpr std::array<Unit, 8> kUnits{{{"", 1.0},
                                      {"b", 1.0},
                                      {"kib", 1024.0},
                                      {"mib", 1024.0 * 1024},
                                      {"gib", 1024.0 * 1024 * 1024},
                                      {"kb", 1e3},
                                      {"mb", 1e6},
                                      {"gb", 1e9}}};

} // namespace

std::uint64_t parse_size(std::string_view text) {
    std::string number;
    std::string unit;
    std::size_t i = 0;
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
        number += text[i++];
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i])))
        unit += static_cast<char>(std::tolower(static_cast<unsigned char>(text[i++])));
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (number.empty() || i != text.size())
        throw Error(fmt::format("invalid size '{}' (expected e.g. 512MB, 1.5GiB, 4096)", text));
    char* end = nullptr;
    const double value = std::strtod(number.c_str(), &end);
    if (end != number.c_str() + number.size() || !std::isfinite(value))
        throw Error(fmt::format("invalid size '{}'", text));
    for (const Unit& u : kUnits) {
        if (u.name == unit) {
            const double bytes = value * u.factor;
            if (bytes > 1.8e19) throw Error(fmt::format("size '{}' is too large", text));
            return static_cast<std::uint64_t>(std::llround(bytes));
        }
    }
    throw Error(fmt::format("invalid size unit '{}' in '{}' (use B, KiB, MiB, GiB, KB, MB, GB)",
                            unit, text));
}

namespace {

std::string scaled(double bytes, double step, const std::array<const char*, 5>& names) {
    const bool negative = bytes < 0;
    double value = std::fabs(bytes);
    std::size_t unit = 0;
    while (value >= step && unit + 1 < names.size()) {
        value /= step;
        ++unit;
    }
    // 999.96 kB would print as "1000.0 kB": say "1.0 MB" instead.
    if (unit > 0 && unit + 1 < names.size() && std::round(value * 10) >= step * 10) {
        value /= step;
        ++unit;
    }
    const char* sign = negative ? "-" : "";
    if (unit == 0) return fmt::format("{}{:.0f} B", sign, value);
    return fmt::format("{}{:.1f} {}", sign, value, names[unit]);
}

} // namespace

std::string format_size(double bytes) { return scaled(bytes, 1000.0, {"B", "kB", "MB", "GB", "TB"}); }

std::string format_size_binary(double bytes) { return scaled(bytes, 1024.0, {"B", "KiB", "MiB", "GiB", "TiB"}); }

std::string format_size_both(double bytes) {
    if (std::fabs(bytes) < 1000.0) return format_size(bytes);
    return format_size(bytes) + " (" + format_size_binary(bytes) + ")";
}

std::string format_mb(double bytes, int decimals) { return fmt::format("{:.{}f} MB", to_mb(bytes), decimals); }

} // namespace memopt
