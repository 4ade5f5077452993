#include "profiler/trace/trace_files.h"

#include <algorithm>
#include <string>

namespace memopt::trace {

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
        if (std::all_of(suffix.begin(), suffix.end(), [](char c) { return c >= '0' && c <= '9'; }))
            children.push_back(trace.parent_path() / name);
    }
    std::sort(children.begin(), children.end());
    return children;
}

} // namespace memopt::trace
