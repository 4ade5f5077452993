// Runs `/usr/bin/python3 -m memopt.transforms PASS SCRIPT OUT_DIR` and reads its JSON report;
// dispatches a pass by the kind the pass table gives it.
#include "common/error.h"
#include "transforms/passes.h"
#include "transforms/python_module.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

namespace memopt::transforms {

namespace {

std::vector<std::string> python_pass_args(const std::string& name, const PassInput& input, const std::string& launcher_json) {
    std::vector<std::string> args = {name, fs::absolute(input.program.path).string(), fs::absolute(input.out_dir).string()};
    if (input.profile) args.insert(args.end(), {"--profile", input.profile->string()});
    if (!launcher_json.empty()) args.insert(args.end(), {"--launcher", launcher_json});
    if (input.select) args.insert(args.end(), {"--select", fmt::format("{}", fmt::join(*input.select, ","))});
    return args;
}

PassReport parse_report(const std::string& name, const std::string& text, const Program& input_program) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception&) {
        throw Error(fmt::format("pass {}: unreadable report", name));
    }
    PassReport report;
    report.name = name;
    report.applied = j.value("applied", false);
    report.reason = j.value("reason", "");
    for (const auto& c : j.value("changes", nlohmann::json::array())) report.changes.push_back(c.get<std::string>());
    try {
        for (const auto& c : j.value("candidates", nlohmann::json::array()))
            report.candidates.push_back({c.at("id").get<std::string>(), c.value("estimated_saving_bytes", std::uint64_t{0}),
                                         c.value("what", "")});
    } catch (const nlohmann::json::exception&) {
        throw Error(fmt::format("pass {}: unreadable candidates in its report (each needs an \"id\")", name));
    }
    report.program = input_program;
    if (report.applied) report.program.path = j.value("program", "");
    if (report.applied && !j.value("diff", "").empty()) report.diff = report.program.path.parent_path() / j.value("diff", "");
    if (j.contains("launcher") && j["launcher"].is_object() && !j["launcher"].empty()) {
        report.program.python_flags = j["launcher"].value("python_flags", std::vector<std::string>{});
        report.program.env = j["launcher"].value("env", std::map<std::string, std::string>{});
    }
    return report;
}

} // namespace

PassReport run_python_pass(const std::string& name, const PassInput& input, const std::string& launcher_json) {
    fs::create_directories(input.out_dir.parent_path().empty() ? fs::path(".") : input.out_dir.parent_path());
    const PythonOutput output = run_transforms_module(python_pass_args(name, input, launcher_json), input.out_dir.string() + ".report");
    if (output.status != 0)
        throw Error(fmt::format("pass {} failed on {}: {}", name, input.program.path.string(), output.last_error_line));
    return parse_report(name, output.out, input.program);
}

std::optional<fs::path> write_program_diff(const fs::path& old_program, const fs::path& new_program, const fs::path& out_dir) {
    const PythonOutput output = run_transforms_module(
        {"diff", fs::absolute(old_program).string(), fs::absolute(new_program).string(), fs::absolute(out_dir).string()},
        (out_dir / ".diff").string());
    if (output.status != 0)
        throw Error(fmt::format("cannot write the changes of {}: {}", new_program.string(), output.last_error_line));
    std::string name;
    try {
        name = nlohmann::json::parse(output.out).value("diff", "");
    } catch (const nlohmann::json::exception&) {
        throw Error(fmt::format("diff of {}: unreadable report", new_program.string()));
    }
    if (name.empty()) return std::nullopt;
    return out_dir / name;
}

PassReport run_pass(const std::string& name, const PassInput& input) {
    const PassInfo& pass = find_pass(name);
    switch (pass.kind) {
    case PassKind::Rewrite: return run_python_pass(pass.name, input);
    case PassKind::Launcher: return search_launcher(pass, input);
    }
    throw Error(fmt::format("pass {}: unknown kind", name));
}

} // namespace memopt::transforms
