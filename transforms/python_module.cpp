#include "transforms/python_module.h"

#include "common/paths.h"
#include "transforms/differential.h"
#include "transforms/measure.h"

#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace memopt::transforms {

namespace {

// Reads and removes `path`.
std::string take_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    in.close();
    fs::remove(path);
    return text.str();
}

std::string last_line(const std::string& text) {
    const auto end = text.find_last_not_of('\n');
    if (end == std::string::npos) return "";
    const auto start = text.rfind('\n', end);
    return text.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1) + 1);
}

} // namespace

PythonOutput run_transforms_module(const std::vector<std::string>& args, const fs::path& capture_base) {
    RunSpec spec;
    spec.argv = {kPython, "-m", "memopt.transforms"};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.env["PYTHONPATH"] = python_package_dir().string();
    spec.stdout_file = capture_base.string() + ".out";
    spec.stderr_file = capture_base.string() + ".err";
    spec.tallied = false; // a pass's own run, not one of the program's
    PythonOutput output;
    try {
        output.status = run_once(spec).status;
    } catch (...) {
        fs::remove(spec.stdout_file);
        fs::remove(spec.stderr_file);
        throw;
    }
    output.out = take_file(spec.stdout_file);
    output.last_error_line = last_line(take_file(spec.stderr_file));
    return output;
}

} // namespace memopt::transforms
