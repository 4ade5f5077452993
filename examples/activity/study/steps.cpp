#include "examples/activity/study/steps.h"

#include "common/error.h"

#include <fmt/format.h>
#include <fmt/std.h>
#include <fstream>

namespace memopt::reports::study {

using nlohmann::json;

namespace {

template <typename T>
T required(const json& object, const char* name, const std::string& where) {
    auto it = object.find(name);
    if (it == object.end()) throw Error(fmt::format("{}: missing field '{}'", where, name));
    try {
        return it->get<T>();
    } catch (const json::exception&) {
        throw Error(fmt::format("{}: field '{}' has the wrong type", where, name));
    }
}

template <typename T>
T optional(const json& object, const char* name, T fallback) {
    auto it = object.find(name);
    if (it == object.end() || it->is_null()) return fallback;
    try {
        return it->get<T>();
    } catch (const json::exception&) {
        return fallback;
    }
}

} // namespace

OptimizeSteps parse_steps(const json& j, const std::filesystem::path& dir) {
    const std::string where = (dir / "steps.json").string();
    if (!j.is_object()) throw Error(where + ": not a JSON object");
    const auto schema = required<std::string>(j, "schema", where);
    if (schema != kStepsSchema) throw Error(fmt::format("{}: schema is '{}', expected '{}'", where, schema, kStepsSchema));
    OptimizeSteps steps;
    steps.dir = dir;
    steps.script = required<std::string>(j, "script", where);
    steps.args = optional<std::vector<std::string>>(j, "args", {});
    steps.final_program = optional<std::string>(j, "final", "");
    const auto list = required<json>(j, "steps", where);
    if (!list.is_array() || list.empty()) throw Error(where + ": 'steps' must be a non-empty array");
    for (std::size_t i = 0; i < list.size(); ++i) {
        const std::string at = fmt::format("{}: steps[{}]", where, i);
        const json& item = list[i];
        if (!item.is_object()) throw Error(at + ": not an object");
        OptimizeStep step;
        step.step = required<int>(item, "step", at);
        step.pass = required<std::string>(item, "pass", at);
        step.accepted = required<bool>(item, "accepted", at);
        step.dir = optional<std::string>(item, "dir", "");
        step.program = optional<std::string>(item, "program", "");
        step.command = optional<std::vector<std::string>>(item, "command", {});
        const auto cwd = optional<std::string>(item, "cwd", "");
        if (!cwd.empty()) step.cwd = std::filesystem::path(cwd).is_absolute() ? std::filesystem::path(cwd) : dir / cwd;
        step.reason = optional<std::string>(item, "reason", "");
        step.changes = optional<std::vector<std::string>>(item, "changes", {});
        step.optimize_peak_rss_bytes = optional<std::uint64_t>(item, "peak_rss_bytes", 0);
        step.optimize_wall_s = optional<double>(item, "wall_s", 0.0);
        if (step.accepted && step.command.empty()) throw Error(at + ": an accepted step needs a 'command'");
        steps.steps.push_back(std::move(step));
    }
    if (steps.steps.front().pass != "baseline" || !steps.steps.front().accepted)
        throw Error(where + ": the first step must be the accepted baseline");
    return steps;
}

OptimizeSteps read_steps(const std::filesystem::path& steps_json) {
    std::ifstream file(steps_json);
    if (!file) throw Error(fmt::format("cannot read {}", steps_json));
    json j;
    try {
        j = json::parse(file);
    } catch (const json::exception& e) {
        throw Error(fmt::format("{} is not valid JSON: {}", steps_json, e.what()));
    }
    return parse_steps(j, steps_json.parent_path());
}

} // namespace memopt::reports::study
