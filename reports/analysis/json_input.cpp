#include "reports/analysis/json_input.h"

#include "common/error.h"
#include "common/input_file.h"
#include "common/sizes.h"

#include <fmt/format.h>
#include <fmt/std.h>
#include <new>

namespace memopt::reports {

namespace {

// Nesting depth, counted outside strings: nlohmann's parser is iterative, but a value
// nested thousands deep is not a memopt document and costs stack when destroyed.
void check_depth(std::string_view text, std::string_view what, std::size_t max_depth) {
    std::size_t depth = 0;
    bool in_string = false, escaped = false;
    for (const char c : text) {
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
            continue;
        }
        if (c == '"') in_string = true;
        else if (c == '[' || c == '{') {
            if (++depth > max_depth)
                throw Error(fmt::format("{} is nested deeper than {} levels", what, max_depth));
        } else if ((c == ']' || c == '}') && depth > 0) --depth;
    }
}

} // namespace

nlohmann::json parse_bounded_json(std::string_view text, std::string_view what, std::size_t max_bytes,
                                  std::size_t max_depth) {
    if (text.size() > max_bytes)
        throw Error(fmt::format("{} is larger than {}", what, format_size(static_cast<double>(max_bytes))));
    check_depth(text, what, max_depth);
    try {
        return nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw Error(fmt::format("{} is not valid JSON: {}", what, e.what()));
    } catch (const std::bad_alloc&) {
        throw Error(fmt::format("{} is too large to parse in the memory available", what));
    }
}

nlohmann::json read_json_file(const std::filesystem::path& path, std::string_view kind, std::size_t max_bytes) {
    InputFile file(path);
    const std::string text = file.read_all(max_bytes, kind);
    return parse_bounded_json(text, fmt::format("{}", path), max_bytes);
}

} // namespace memopt::reports
