#include "profiler/trace/trace_files.h"

#include <algorithm>
#include <string>

namespace memopt::trace {
namespace {

bool all_digits(const std::string& text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "PID" or "PID.N" (a pid used again by a later child of the same run).
bool child_suffix(const std::string& suffix) {
    const auto dot = suffix.find('.');
    if (dot == std::string::npos) return all_digits(suffix);
    return all_digits(suffix.substr(0, dot)) && all_digits(suffix.substr(dot + 1));
}

} // namespace

std::vector<std::filesystem::path> child_trace_files(const std::filesystem::path& trace) {
    namespace fs = std::filesystem;
    std::vector<fs::path> children;
    const fs::path dir = trace.parent_path().empty() ? fs::path(".") : trace.parent_path();
    const std::string prefix = trace.filename().string() + ".";
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
        const std::string suffix = name.substr(prefix.size());
        if (child_suffix(suffix)) children.push_back(trace.parent_path() / name);
    }
    std::sort(children.begin(), children.end());
    return children;
}

} // namespace memopt::trace
