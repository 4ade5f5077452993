// Reading steps.json (memopt.steps/1) and choosing the rows a per-step report shows.
#include "reports/steps/steps.h"

#include "common/error.h"

#include <algorithm>
#include <fmt/format.h>
#include <fmt/std.h>
#include <fstream>
#include <set>

namespace memopt::reports::steps {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

template <typename T>
T read_field(const json& value, const char* name, const std::string& where) {
    try {
        return value.get<T>();
    } catch (const json::exception&) {
        throw Error(fmt::format("{}: field '{}' has the wrong type", where, name));
    }
}

template <typename T>
T required(const json& object, const char* name, const std::string& where) {
    const auto it = object.find(name);
    if (it == object.end()) throw Error(fmt::format("{}: missing field '{}'", where, name));
    return read_field<T>(*it, name, where);
}

// Absent or null: `fallback`; present with another type: an error, not a silent default.
template <typename T>
T optional(const json& object, const char* name, T fallback, const std::string& where) {
    const auto it = object.find(name);
    if (it == object.end() || it->is_null()) return fallback;
    return read_field<T>(*it, name, where);
}

Step parse_step(const json& item, const fs::path& dir, const std::string& at) {
    if (!item.is_object()) throw Error(at + ": not an object");
    Step step;
    step.step = required<int>(item, "step", at);
    step.pass = required<std::string>(item, "pass", at);
    step.accepted = required<bool>(item, "accepted", at);
    step.reason = optional<std::string>(item, "reason", "", at);
    step.changes = optional<std::vector<std::string>>(item, "changes", {}, at);
    step.dir = optional<std::string>(item, "dir", "", at);
    step.program = optional<std::string>(item, "program", "", at);
    step.command = optional<std::vector<std::string>>(item, "command", {}, at);
    const auto cwd = optional<std::string>(item, "cwd", "", at);
    if (!cwd.empty()) step.cwd = fs::path(cwd).is_absolute() ? fs::path(cwd) : dir / cwd;
    step.measured = item.contains("peak_rss_bytes") && !item["peak_rss_bytes"].is_null();
    step.peak_rss_bytes = optional<std::uint64_t>(item, "peak_rss_bytes", 0, at);
    step.peak_rss_runs = optional<std::vector<std::uint64_t>>(item, "peak_rss_runs", {}, at);
    step.wall_s = optional<double>(item, "wall_s", 0.0, at);
    step.wall_runs = optional<std::vector<double>>(item, "wall_runs", {}, at);
    step.trace = optional<std::string>(item, "trace", "", at);
    if (step.accepted && !step.measured) throw Error(at + ": an accepted step needs 'peak_rss_bytes'");
    return step;
}

void check_order(const Steps& steps, const std::string& where) {
    if (steps.steps.front().pass != "baseline" || !steps.steps.front().accepted)
        throw Error(where + ": the first step must be the accepted baseline");
    for (std::size_t i = 1; i < steps.steps.size(); ++i)
        if (steps.steps[i].step <= steps.steps[i - 1].step)
            throw Error(fmt::format("{}: steps[{}]: step {} after step {} (steps must be in increasing order)", where, i,
                                    steps.steps[i].step, steps.steps[i - 1].step));
}

} // namespace

Steps parse_steps(const json& j, const fs::path& steps_json) {
    const std::string where = steps_json.string();
    if (!j.is_object()) throw Error(where + ": not a JSON object");
    const auto schema = required<std::string>(j, "schema", where);
    if (schema != kStepsSchema) throw Error(fmt::format("{}: schema is '{}', expected '{}'", where, schema, kStepsSchema));
    Steps steps;
    steps.dir = steps_json.parent_path();
    steps.script = required<std::string>(j, "script", where);
    steps.args = optional<std::vector<std::string>>(j, "args", {}, where);
    steps.final_program = optional<std::string>(j, "final", "", where);
    steps.final_command = optional<std::vector<std::string>>(j, "final_command", {}, where);
    if (j.contains("threshold_bytes") && !j["threshold_bytes"].is_null())
        steps.threshold_bytes = optional<std::uint64_t>(j, "threshold_bytes", 0, where);
    steps.traces_note = optional<std::string>(j, "traces_note", "", where);
    const auto list = required<json>(j, "steps", where);
    if (!list.is_array() || list.empty()) throw Error(where + ": 'steps' must be a non-empty array");
    for (std::size_t i = 0; i < list.size(); ++i)
        steps.steps.push_back(parse_step(list[i], steps.dir, fmt::format("{}: steps[{}]", where, i)));
    check_order(steps, where);
    return steps;
}

Steps read_steps(const fs::path& steps_json) {
    std::ifstream file(steps_json);
    if (!file) throw Error(fmt::format("cannot read {}", steps_json));
    json j;
    try {
        j = json::parse(file);
    } catch (const json::exception& e) {
        throw Error(fmt::format("{} is not valid JSON: {}", steps_json, e.what()));
    }
    return parse_steps(j, steps_json);
}

std::vector<Row> report_rows(const Steps& steps) {
    std::set<std::string> accepted, shown;
    for (const auto& step : steps.steps)
        if (step.accepted) accepted.insert(step.pass);
    std::vector<Row> rows;
    if (steps.steps.empty()) return rows;
    const double base = static_cast<double>(steps.steps.front().peak_rss_bytes);
    double previous = base;
    for (const auto& step : steps.steps) {
        if (!step.accepted && (accepted.count(step.pass) || shown.count(step.pass))) continue;
        shown.insert(step.pass);
        Row row;
        row.step = &step;
        row.title = fmt::format("{} {}", step.step, step.pass);
        if (step.accepted) {
            const double now = static_cast<double>(step.peak_rss_bytes);
            row.saved_bytes = previous - now;
            row.saved_pct = previous > 0 ? 100.0 * row.saved_bytes / previous : 0.0;
            row.pct_of_baseline = base > 0 ? 100.0 * now / base : 0.0;
            previous = now;
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

std::uint64_t min_of(const std::vector<std::uint64_t>& runs, std::uint64_t fallback) {
    return runs.empty() ? fallback : *std::min_element(runs.begin(), runs.end());
}
std::uint64_t max_of(const std::vector<std::uint64_t>& runs, std::uint64_t fallback) {
    return runs.empty() ? fallback : *std::max_element(runs.begin(), runs.end());
}
double min_of(const std::vector<double>& runs, double fallback) {
    return runs.empty() ? fallback : *std::min_element(runs.begin(), runs.end());
}
double max_of(const std::vector<double>& runs, double fallback) {
    return runs.empty() ? fallback : *std::max_element(runs.begin(), runs.end());
}

} // namespace memopt::reports::steps
