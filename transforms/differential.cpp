#include "transforms/differential.h"

#include "common/error.h"

#include <fmt/format.h>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace memopt::transforms {


std::vector<std::string> command_line(const Program& program, const std::vector<std::string>& args, bool relative) {
    std::vector<std::string> argv;
    if (!program.env.empty()) {
        argv.push_back("/usr/bin/env");
        for (const auto& [k, v] : program.env) argv.push_back(k + "=" + v);
    }
    argv.push_back(kPython);
    argv.insert(argv.end(), program.python_flags.begin(), program.python_flags.end());
    argv.push_back(relative ? program.path.filename().string() : program.path.string());
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}


std::vector<std::string> resolve_args(const std::vector<std::string>& args) {
    std::vector<std::string> out;
    for (const auto& a : args) {
        std::error_code ec;
        out.push_back(!a.empty() && a[0] != '-' && fs::exists(a, ec) ? fs::absolute(a).lexically_normal().string() : a);
    }
    return out;
}

} // namespace memopt::transforms
