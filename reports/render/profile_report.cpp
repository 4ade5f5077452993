// Text and JSON rendering of a probe profile (memopt.profile/1, see docs/probe.md).
#include "common/sizes.h"
#include "reports/render/profile_report.h"

#include "common/error.h"
#include "reports/analysis/profile_check.h"

#include <algorithm>
#include <fmt/format.h>
#include <map>
#include <vector>

namespace memopt::reports {

using nlohmann::json;

namespace {

constexpr std::size_t kTreeLines = 60;
constexpr std::size_t kListLines = 25;

double num(const json& object, const char* key) {
    if (!object.is_object()) return 0;
    auto it = object.find(key);
    return it != object.end() && it->is_number() ? it->get<double>() : 0.0;
}

std::string str(const json& object, const char* key) {
    if (!object.is_object()) return "";
    auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

// A figure in a column or sentence that says "MB" (10^6 bytes, common/sizes.h).
std::string mb(double bytes) { return fmt::format("{:.1f}", to_mb(bytes)); }

// "sampled" (estimates), "tracemalloc" (exact) or none; profiles from before sampling have
// only the "tracemalloc" flag.
std::string tracking_label(const json& in) {
    std::string mode = str(in, "allocation_tracking");
    if (mode.empty()) mode = in.value("tracemalloc", true) ? "tracemalloc" : "none";
    if (mode == "tracemalloc")
        return fmt::format(", tracemalloc {} frames", static_cast<long long>(num(in, "tracemalloc_frames")));
    if (mode == "sampled") {
        const double mean = num(in.value("sampling", json::object()), "mean_bytes");
        return mean <= 1 ? ", every allocation tracked" : fmt::format(", allocations sampled every ~{}", format_size(mean));
    }
    return ", no allocation tracking";
}

void header(std::string& out, const json& p) {
    std::string argv = str(p, "script");
    if (p.contains("argv") && p.at("argv").is_array())
        for (const auto& a : p.at("argv")) argv += " " + (a.is_string() ? a.get<std::string>() : a.dump());
    const json& in = p.value("interpreter", json::object());
    out += fmt::format("memopt probe profile: {}\n", argv);
    out += fmt::format("  exit status {}, {:.2f} s, {} (optimize {}{}{})\n", p.value("exit_status", 0),
                       num(p, "duration_s"), str(in, "executable"), static_cast<long long>(num(in, "optimize")),
                       tracking_label(in),
                       in.value("code_tracking", true) ? "" : ", no code tracking");
    const json& base = p.value("baseline", json::object());
    const json& over = p.value("probe_overhead", json::object());
    out += fmt::format("  peak RSS {} MB at {:.2f} s (VmHWM {} MB), peak allocated {} MB; RSS at script start {} MB\n",
                       mb(num(p, "peak_rss_bytes")), num(p, "peak_rss_time_s"), mb(num(p, "vmhwm_bytes")),
                       mb(num(p, "peak_traced_bytes")), mb(num(base, "rss_at_script_start_bytes")));
    out += fmt::format("  probe's own footprint ~{} MB (memopt before Python {} MB, tracemalloc {} MB, sampler {} MB); {} snapshot(s) took {:.2f} s\n",
                       mb(num(over, "estimated_rss_bytes")), mb(num(over, "native_before_python_bytes")),
                       mb(num(over, "tracemalloc_bytes")), mb(num(over, "sampler_bytes")), static_cast<long long>(num(over, "snapshots")),
                       num(over, "snapshot_time_s"));
    const json& stdout_info = p.value("stdout", json::object());
    out += fmt::format("  stdout {} bytes, sha256 {}\n", static_cast<long long>(num(stdout_info, "bytes")),
                       str(stdout_info, "sha256"));
}

void phases(std::string& out, const json& p) {
    if (!p.contains("phases") || !p.at("phases").is_array() || p.at("phases").empty()) return;
    out += "\nPhases (memopt.phase; sizes in MB)\n";
    std::size_t width = 20; // as wide as the longest name: names are never cut
    for (const auto& ph : p.at("phases")) width = std::max(width, str(ph, "name").size());
    out += fmt::format("  {:<{}} {:>8} {:>8} {:>10} {:>10} {:>11}\n", "name", width, "start s", "end s", "RSS start",
                       "peak RSS", "peak traced");
    for (const auto& ph : p.at("phases"))
        out += fmt::format("  {:<{}} {:>8.2f} {:>8.2f} {:>10} {:>10} {:>11}\n", str(ph, "name"), width, num(ph, "start_s"),
                           num(ph, "end_s"), mb(num(ph, "rss_start_bytes")), mb(num(ph, "peak_rss_bytes")),
                           mb(num(ph, "peak_traced_bytes")));
}

void import_tree(std::string& out, const json& p) {
    if (!p.contains("imports") || !p.at("imports").is_object()) return;
    const json& imports = p.at("imports");
    const json& tree = imports.value("tree", json::array());
    const json& modules = p.value("modules", json::object());
    const json& total = imports.value("total", json::object());
    out += fmt::format("\nImport tree: {} modules imported, {} MB RSS, {} MB traced, {:.2f} s in imports\n",
                       static_cast<long long>(num(total, "count")), mb(num(total, "rss_bytes")),
                       mb(num(total, "traced_bytes")), num(total, "time_s"));
    out += fmt::format("  {:>8} {:>8} {:>8} {:>8} {:>6}  {}\n", "cum MB", "own MB", "traced", "cum ms", "funcs",
                       "module (children by cumulative RSS; '!' never ran)");
    std::map<long, std::vector<const json*>> children;
    for (const auto& node : tree) children[node.value("parent", -1L)].push_back(&node);
    for (auto& [parent, list] : children)
        std::stable_sort(list.begin(), list.end(), [](const json* a, const json* b) {
            return num((*a).at("cumulative"), "rss_bytes") > num((*b).at("cumulative"), "rss_bytes");
        });
    const double cutoff = std::max(1e6, num(total, "rss_bytes") * 0.005);
    std::size_t printed = 0;
    auto walk = [&](auto&& self, long parent, int depth) -> void {
        auto it = children.find(parent);
        if (it == children.end()) return;
        std::size_t hidden = 0;
        double hidden_bytes = 0;
        for (const json* node : it->second) {
            const double cum = num((*node).at("cumulative"), "rss_bytes");
            if (cum < cutoff || printed >= kTreeLines) {
                ++hidden;
                hidden_bytes += cum;
                continue;
            }
            const std::string name = str(*node, "name");
            const json& module = modules.contains(name) ? modules.at(name) : json::object();
            // a package ran when any module under it ran (the probe's subtree_ran; older profiles: ran)
            const bool ran = module.value("subtree_ran", module.value("ran", true));
            out += fmt::format("  {:>8} {:>8} {:>8} {:>8.0f} {:>6}  {}{}{}{}\n", mb(cum),
                               mb(num((*node).at("own"), "rss_bytes")), mb(num((*node).at("cumulative"), "traced_bytes")),
                               num((*node).at("cumulative"), "time_s") * 1000,
                               static_cast<long long>(num(module, "functions_run")), std::string(2 * depth, ' '),
                               ran ? "" : "!", name, node->value("failed", false) ? " (failed)" : "");
            ++printed;
            self(self, node->value("id", -1L), depth + 1);
        }
        if (hidden && depth == 0)
            out += fmt::format("  {:>8} {:>8} {:>8} {:>8} {:>6}  (+{} more top-level imports)\n", mb(hidden_bytes), "", "",
                               "", "", hidden);
    };
    walk(walk, -1, 0);
    out += fmt::format("  (imports under {} MB cumulative, and past {} lines, are not shown; all are in the JSON)\n",
                       mb(cutoff), kTreeLines);
}

void never_ran(std::string& out, const json& p) {
    if (!p.contains("never_ran") || !p.at("never_ran").is_array()) return;
    const json& list = p.at("never_ran");
    double total = 0;
    for (const auto& m : list) total += num(m, "own_rss_bytes");
    out += fmt::format("\nModules imported but never run: {} (their own RSS: {} MB) - dead-data/flatten candidates\n",
                       list.size(), mb(total));
    out += fmt::format("  {:>8} {:>8} {:>8}  {}\n", "cum MB", "own MB", "traced", "module");
    for (std::size_t i = 0; i < list.size() && i < kListLines; ++i)
        out += fmt::format("  {:>8} {:>8} {:>8}  {}\n", mb(num(list[i], "cumulative_rss_bytes")),
                           mb(num(list[i], "own_rss_bytes")), mb(num(list[i], "cumulative_traced_bytes")),
                           str(list[i], "name"));
    if (list.size() > kListLines) out += fmt::format("  ... {} more in the JSON profile\n", list.size() - kListLines);
}

void peak(std::string& out, const json& p) {
    if (!p.contains("peak") || !p.at("peak").is_object()) return;
    const json& pk = p.at("peak");
    out += fmt::format("\nAt the allocation peak ({:.2f} s, {} MB allocated, {} MB RSS){}\n", num(pk, "time_s"),
                       mb(num(pk, "traced_bytes")), mb(num(pk, "rss_bytes")),
                       pk.value("missed", false) ? " - a higher transient peak happened between polls" : "");
    const json& lines = pk.value("top_lines", json::array());
    if (!lines.empty()) {
        out += pk.value("top_lines_estimated", false)
                   ? fmt::format("Top allocating lines at {:.2f} s (estimated live bytes from samples, 'x' = samples; "
                                 "by the user's line; innermost frame after '<-')\n", num(pk, "time_s"))
                   : "Top allocating lines (live bytes by the user's line; innermost frame after '<-')\n";
        for (std::size_t i = 0; i < lines.size() && i < kListLines; ++i) {
            const json& l = lines[i];
            const std::string where = fmt::format("{}:{}", str(l, "file"), static_cast<long long>(num(l, "line")));
            const std::string at = str(l, "allocated_at");
            out += fmt::format("  {:>8} MB {:>8}x  {}{}\n", mb(num(l, "bytes")), static_cast<long long>(num(l, "count")),
                               where, at == where ? "" : "  <- " + at);
            if (!str(l, "code").empty()) out += fmt::format("  {:>21}  {}\n", "", str(l, "code"));
        }
    }
    const json& census = pk.value("census", json::object());
    if (census.contains("types") && census.at("types").is_array()) {
        out += fmt::format("Object census: {} objects, {} MB (pandas rows marked * overlap the arrays they hold)\n",
                           static_cast<long long>(num(census, "total_objects")), mb(num(census, "total_bytes")));
        out += fmt::format("  {:>10} {:>10}  {}\n", "MB", "count", "type");
        for (const auto& row : census.at("types"))
            out += fmt::format("  {:>10} {:>10}  {}{}\n", mb(num(row, "bytes")), static_cast<long long>(num(row, "count")),
                               str(row, "type"), row.value("deep", false) ? " *" : "");
    }
}

} // namespace

// A field of the wrong type deep inside (json::type_error from value()/get()) is bad input
// like any other: it becomes one memopt::Error, never an "internal error" (found by fuzzing).
std::string render_profile(const nlohmann::json& profile, std::string_view format) try {
    if (!profile.is_object() || !profile.contains("schema") || !profile.at("schema").is_string() ||
        !profile.at("schema").get<std::string>().starts_with("memopt.profile/"))
        throw Error("not a memopt profile (schema memopt.profile/1 expected)");
    check_profile(profile); // from here on every field has its documented type and range
    if (format == "json") return profile.dump(2) + "\n";
    if (format != "text") throw Error(fmt::format("probe profiles can be reported as text, json or html, not '{}'", format));
    std::string out;
    header(out, profile);
    phases(out, profile);
    import_tree(out, profile);
    never_ran(out, profile);
    peak(out, profile);
    return out;
} catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("profile does not follow memopt.profile/1: {}", e.what()));
}

} // namespace memopt::reports
