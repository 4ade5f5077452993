#include "reports/analysis/site_lines.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>

namespace memopt::reports {
namespace {

// A symbolized frame reads "function (module)" or, with debug info, "function file:LINE
// (module)"; an unsymbolized one "module+0xOFFSET" (then maybe " file:LINE").
struct FrameParts {
    std::string_view function;
    std::string_view module;
};

// "f src/a.cpp:12" -> "f": a file name says nothing about whether the function allocates.
std::string_view without_source_line(std::string_view function) {
    const auto space = function.rfind(' ');
    if (space == std::string_view::npos) return function;
    const std::string_view last = function.substr(space + 1);
    const auto colon = last.rfind(':');
    const bool line = colon != std::string_view::npos && colon + 1 < last.size() &&
                      std::all_of(last.begin() + static_cast<std::ptrdiff_t>(colon) + 1, last.end(),
                                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; });
    return line ? function.substr(0, space) : function;
}

FrameParts split_frame(std::string_view frame) {
    if (frame.ends_with(')')) {
        const auto open = frame.rfind(" (");
        if (open != std::string_view::npos)
            return {without_source_line(frame.substr(0, open)), frame.substr(open + 2, frame.size() - open - 3)};
    }
    const auto plus = frame.rfind("+0x");
    if (plus != std::string_view::npos) return {{}, frame.substr(0, plus)};
    return {without_source_line(frame), {}};
}

bool contains_alloc(std::string_view function) {
    for (std::size_t i = 0; i + 5 <= function.size(); ++i) {
        std::size_t j = 0;
        while (j < 5 && std::tolower(static_cast<unsigned char>(function[i + j])) == "alloc"[j]) ++j;
        if (j == 5) return true;
    }
    return false;
}

bool is_allocator_function(std::string_view function) {
    return contains_alloc(function) || function.starts_with("operator new") || function == "free";
}

bool is_c_runtime_module(std::string_view module) {
    constexpr std::array<std::string_view, 7> kPrefixes = {"libc.so", "libc-", "ld-linux", "libstdc++",
                                                           "libgcc_s", "libmemopt_preload", "libpthread"};
    return std::any_of(kPrefixes.begin(), kPrefixes.end(), [&](std::string_view p) { return module.starts_with(p); });
}

bool is_interpreter_module(std::string_view module) {
    return module.starts_with("python3") || module.starts_with("libpython3");
}

} // namespace

bool is_python_frame(std::string_view frame) {
    const auto at = frame.find(".py:");
    return at != std::string_view::npos && at + 4 < frame.size() &&
           std::isdigit(static_cast<unsigned char>(frame[at + 4]));
}

bool is_runtime_frame(std::string_view frame) {
    if (frame == "?" || frame == "[truncated]" || frame == "[python]") return true; // no line to show
    const FrameParts parts = split_frame(frame);
    return is_allocator_function(parts.function) || is_c_runtime_module(parts.module) ||
           is_interpreter_module(parts.module);
}

std::string allocation_line(const std::vector<std::string>& outermost_first) {
    if (outermost_first.empty()) return "?";
    const auto innermost = [&](auto&& wanted) -> const std::string* {
        for (auto it = outermost_first.rbegin(); it != outermost_first.rend(); ++it)
            if (wanted(*it)) return &*it;
        return nullptr;
    };
    if (const auto* frame = innermost([](const std::string& f) { return is_python_frame(f); })) return *frame;
    if (const auto* frame = innermost([](const std::string& f) { return !is_runtime_frame(f); })) return *frame;
    const auto interpreter_caller = [](const std::string& f) {
        const FrameParts parts = split_frame(f);
        return is_interpreter_module(parts.module) && !is_allocator_function(parts.function);
    };
    if (const auto* frame = innermost(interpreter_caller)) return *frame;
    return outermost_first.back();
}

std::vector<LineWeight> weights_by_line(const std::vector<WeightedStack>& stacks) {
    std::map<std::string, LineWeight> by_line;
    for (const auto& stack : stacks) {
        const std::string line = allocation_line(stack.frames);
        LineWeight& weight = by_line[line];
        weight.line = line;
        weight.bytes += stack.bytes;
        weight.count += stack.count;
    }
    std::vector<LineWeight> lines;
    lines.reserve(by_line.size());
    for (auto& [_, weight] : by_line) lines.push_back(std::move(weight));
    std::stable_sort(lines.begin(), lines.end(), [](const LineWeight& a, const LineWeight& b) { return a.bytes > b.bytes; });
    return lines;
}

} // namespace memopt::reports
