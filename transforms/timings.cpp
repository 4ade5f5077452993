#include "transforms/timings.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace memopt::transforms {

namespace {

bool digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }
bool alpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
bool word(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool reports_a_time(std::string_view line) {
    static constexpr std::array<std::string_view, 5> kWords{"time", "took", "elapsed", "duration", "done in"};
    const std::string l = lower(line);
    return std::any_of(kWords.begin(), kWords.end(), [&](std::string_view w) { return l.find(w) != std::string::npos; });
}

// The length of the number starting at `i` (digits, one '.', an exponent), 0 when none.
std::size_t number_at(std::string_view s, std::size_t i) {
    std::size_t j = i;
    while (j < s.size() && digit(s[j])) ++j;
    if (j < s.size() && s[j] == '.') {
        ++j;
        while (j < s.size() && digit(s[j])) ++j;
    }
    if (j == i || (j == i + 1 && s[i] == '.')) return 0;
    if (j + 1 < s.size() && (s[j] == 'e' || s[j] == 'E') && (digit(s[j + 1]) || ((s[j + 1] == '-' || s[j + 1] == '+') &&
                                                                                  j + 2 < s.size() && digit(s[j + 2])))) {
        j += 2;
        while (j < s.size() && digit(s[j])) ++j;
    }
    return j - i;
}

// The length of a time unit at `i` (after optional spaces), 0 when none.
std::size_t unit_at(std::string_view s, std::size_t i) {
    static constexpr std::array<std::string_view, 8> kUnits{"seconds", "second", "minutes", "secs", "sec", "min", "ms", "s"};
    std::size_t j = i;
    while (j < s.size() && s[j] == ' ') ++j;
    const std::string rest = lower(s.substr(j, 8));
    for (std::string_view u : kUnits) {
        if (rest.compare(0, u.size(), u) == 0 && (j + u.size() == s.size() || !word(s[j + u.size()])))
            return j + u.size() - i;
    }
    return 0;
}

std::string mask_line(std::string_view line) {
    const bool whole_line = reports_a_time(line);
    std::string out;
    for (std::size_t i = 0; i < line.size();) {
        const bool starts_number = (i == 0 || !alpha(line[i - 1])) && number_at(line, i) > 0 && (i == 0 || !digit(line[i - 1]));
        if (starts_number) {
            const std::size_t n = number_at(line, i);
            const std::size_t u = unit_at(line, i + n);
            if (whole_line || u > 0) {
                out += '#';
                i += n + u;
                continue;
            }
            out.append(line.substr(i, n));
            i += n;
            continue;
        }
        if (whole_line && line[i] == ' ') {
            ++i;
            continue;
        }
        out += line[i++];
    }
    return out;
}

} // namespace

std::string mask_timings(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t start = 0; start <= text.size();) {
        const std::size_t end = std::min(text.find('\n', start), text.size());
        out += mask_line(text.substr(start, end - start));
        if (end == text.size()) break;
        out += '\n';
        start = end + 1;
    }
    return out;
}

} // namespace memopt::transforms
