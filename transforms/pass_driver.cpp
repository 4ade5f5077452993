// Runs `/usr/bin/python3 -m memopt.transforms PASS SCRIPT OUT_DIR` and reads its JSON report.
#include "common/error.h"
#include "common/paths.h"
#include "transforms/passes.h"

#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace fs = std::filesystem;

namespace memopt::transforms {

PassReport run_python_pass(const std::string& name, const PassInput& input, const std::string& launcher_json) {
    fs::create_directories(input.out_dir.parent_path().empty() ? fs::path(".") : input.out_dir.parent_path());
    const fs::path report_file = input.out_dir.string() + ".report.json";
    const fs::path error_file = input.out_dir.string() + ".report.err";
    RunSpec spec;
    spec.argv = {kPython, "-m", "memopt.transforms", name, fs::absolute(input.program.path).string(),
                 fs::absolute(input.out_dir).string()};
    if (input.profile) spec.argv.insert(spec.argv.end(), {"--profile", input.profile->string()});
    if (!launcher_json.empty()) spec.argv.insert(spec.argv.end(), {"--launcher", launcher_json});
    spec.env["PYTHONPATH"] = python_package_dir().string();
    spec.stdout_file = report_file;
    spec.stderr_file = error_file;
    const RunOutcome outcome = run_once(spec);
    std::ifstream in(report_file);
    std::stringstream text;
    text << in.rdbuf();
    in.close();
    std::ifstream err_in(error_file);
    std::stringstream err;
    err << err_in.rdbuf();
    err_in.close();
    fs::remove(report_file);
    fs::remove(error_file);
    if (outcome.status != 0) {
        std::string message = err.str();
        const auto last = message.find_last_not_of('\n');
        message = last == std::string::npos ? "" : message.substr(0, last + 1);
        message = message.substr(message.rfind('\n') == std::string::npos ? 0 : message.rfind('\n') + 1);
        throw Error(fmt::format("pass {} failed on {}: {}", name, input.program.path.string(), message));
    }
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text.str());
    } catch (const nlohmann::json::exception&) {
        throw Error(fmt::format("pass {}: unreadable report", name));
    }
    PassReport report;
    report.name = name;
    report.applied = j.value("applied", false);
    report.reason = j.value("reason", "");
    for (const auto& c : j.value("changes", nlohmann::json::array())) report.changes.push_back(c.get<std::string>());
    report.program = input.program;
    if (report.applied) report.program.path = j.value("program", "");
    if (j.contains("launcher") && j["launcher"].is_object() && !j["launcher"].empty()) {
        report.program.python_flags = j["launcher"].value("python_flags", std::vector<std::string>{});
        report.program.env = j["launcher"].value("env", std::map<std::string, std::string>{});
    }
    return report;
}

PassReport run_pass(const std::string& name, const PassInput& input) {
    if (name == "static-to-dynamic") return static_to_dynamic(input);
    if (name == "dead-data") return dead_data(input);
    if (name == "flatten") return flatten(input);
    if (name == "flags") return flags(input);
    throw Error(fmt::format("unknown pass '{}' (static-to-dynamic, dead-data, flatten, flags)", name));
}

} // namespace memopt::transforms
