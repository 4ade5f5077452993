#include "transforms/pass_table.h"

#include "common/error.h"
#include "transforms/python_module.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

namespace fs = std::filesystem;

namespace memopt::transforms {

namespace {

constexpr const char* kSource = "the pass table (python/memopt/transforms/__init__.py)";

std::string text_field(const nlohmann::json& entry, const char* key) {
    if (!entry.contains(key) || !entry[key].is_string() || entry[key].get<std::string>().empty())
        throw Error(fmt::format("{}: an entry has no \"{}\"", kSource, key));
    return entry[key].get<std::string>();
}

PassInfo parse_entry(const nlohmann::json& entry) {
    if (!entry.is_object()) throw Error(fmt::format("{}: an entry is not an object", kSource));
    PassInfo info;
    info.name = text_field(entry, "name");
    info.module = text_field(entry, "module");
    info.summary = text_field(entry, "summary");
    const std::string kind = text_field(entry, "kind");
    if (kind != "rewrite" && kind != "launcher")
        throw Error(fmt::format("{}: pass {} has unknown kind '{}' (rewrite, launcher)", kSource, info.name, kind));
    info.kind = kind == "rewrite" ? PassKind::Rewrite : PassKind::Launcher;
    if (!entry.contains("step") || !entry["step"].is_number_integer())
        throw Error(fmt::format("{}: pass {} has no integer \"step\"", kSource, info.name));
    info.paper_step = entry["step"].get<int>();
    return info;
}

// Asks the Python side for its table; the captured output lives in a private temporary directory.
std::string list_json() {
    std::string dir = (fs::temp_directory_path() / "memopt-passes-XXXXXX").string();
    if (!::mkdtemp(dir.data())) throw Error(fmt::format("cannot create a temporary directory in {}", fs::temp_directory_path().string()));
    PythonOutput output;
    try {
        output = run_transforms_module({"--list-json"}, fs::path(dir) / "list");
    } catch (...) {
        fs::remove_all(dir);
        throw;
    }
    fs::remove_all(dir);
    if (output.status != 0)
        throw Error(fmt::format("cannot read {}: python3 -m memopt.transforms --list-json exited with status {}{}", kSource,
                                output.status, output.last_error_line.empty() ? "" : ": " + output.last_error_line));
    return output.out;
}

} // namespace

std::vector<PassInfo> parse_pass_table(const std::string& json_text) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(json_text);
    } catch (const nlohmann::json::exception&) {
        throw Error(fmt::format("{}: not JSON", kSource));
    }
    if (!j.is_array() || j.empty()) throw Error(fmt::format("{}: not a list of passes", kSource));
    std::vector<PassInfo> table;
    for (const auto& entry : j) {
        PassInfo info = parse_entry(entry);
        const bool repeated = std::any_of(table.begin(), table.end(), [&](const PassInfo& p) { return p.name == info.name; });
        if (repeated) throw Error(fmt::format("{}: pass {} is declared twice", kSource, info.name));
        table.push_back(std::move(info));
    }
    return table;
}

const std::vector<PassInfo>& pass_table() {
    static const std::vector<PassInfo> table = parse_pass_table(list_json());
    return table;
}

const PassInfo& find_pass(const std::string& name) {
    for (const PassInfo& p : pass_table())
        if (p.name == name) return p;
    throw Error(fmt::format("unknown pass '{}' ({})", name, pass_name_list()));
}

std::vector<std::string> pass_names() {
    std::vector<std::string> names;
    for (const PassInfo& p : pass_table()) names.push_back(p.name);
    return names;
}

std::string pass_name_list() { return fmt::format("{}", fmt::join(pass_names(), ", ")); }

std::string describe_passes() {
    std::size_t width = 0;
    for (const PassInfo& p : pass_table()) width = std::max(width, p.name.size());
    std::vector<std::string> lines;
    for (const PassInfo& p : pass_table())
        lines.push_back(fmt::format("  {:<{}}  step {}, {}: {}", p.name, width, p.paper_step,
                                    p.kind == PassKind::Rewrite ? "rewrite" : "launcher", p.summary));
    return fmt::format("{}", fmt::join(lines, "\n"));
}

} // namespace memopt::transforms
