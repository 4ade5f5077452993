// HTML report of a probe profile (memopt.profile/1, docs/probe.md): RSS timeline with
// phases, import tree with own/cumulative cost, modules imported but never run.
// Reads the JSON defensively: a missing section is left out of the page, not an error.
#include "common/sizes.h"
#include "common/error.h"
#include "reports/analysis/profile_check.h"
#include "reports/render/html.h"

#include <algorithm>
#include <fmt/format.h>
#include <functional>
#include <map>

namespace memopt::reports {

using html::escape;
using nlohmann::json;

namespace {

double number_at(const json& object, const char* key, double fallback = 0) {
    if (!object.is_object()) return fallback;
    auto it = object.find(key);
    return it != object.end() && it->is_number() ? it->get<double>() : fallback;
}

std::string string_at(const json& object, const char* key) {
    if (!object.is_object()) return "";
    auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

// A figure beside "MB" (10^6 bytes, common/sizes.h).
std::string mb(double bytes) { return fmt::format("{:.1f}", to_mb(bytes)); }

// The RSS timeline: accepts {"t_s":[..],"rss_bytes":[..]} or [{"t_s":..,"rss_bytes":..}].
std::string timeline_section(const json& profile) {
    const json* timeline = nullptr;
    for (const char* key : {"rss_timeline", "timeline"})
        if (profile.contains(key)) timeline = &profile[key];
    if (!timeline) return "";
    html::Series rss{"RSS", "#d62728", {}, {}, false, false};
    if (timeline->is_object() && (*timeline).at("t_s").is_array()) {
        const auto& t = (*timeline).at("t_s");
        const auto& r = timeline->contains("rss_bytes") ? (*timeline).at("rss_bytes") : json::array();
        for (std::size_t i = 0; i < t.size() && i < r.size(); ++i)
            if (t[i].is_number() && r[i].is_number()) {
                rss.x.push_back(t[i].get<double>());
                rss.y.push_back(r[i].get<double>());
            }
    } else if (timeline->is_object() && timeline->contains("rss") && (*timeline).at("rss").is_array()) {
        for (const auto& point : (*timeline).at("rss"))
            if (point.is_array() && point.size() >= 2 && point[0].is_number() && point[1].is_number()) {
                rss.x.push_back(point[0].get<double>());
                rss.y.push_back(point[1].get<double>());
            }
    } else if (timeline->is_array()) {
        for (const auto& point : *timeline) {
            if (point.is_array() && point.size() >= 2 && point[0].is_number() && point[1].is_number()) {
                rss.x.push_back(point[0].get<double>());
                rss.y.push_back(point[1].get<double>());
            } else if (point.is_object()) {
                rss.x.push_back(number_at(point, "t_s"));
                rss.y.push_back(number_at(point, "rss_bytes"));
            }
        }
    }
    if (rss.x.empty()) return "";
    html::LineChart chart;
    chart.title = "Resident memory over time";
    chart.series = {rss};
    if (profile.contains("phases") && profile.at("phases").is_array())
        for (const auto& phase : profile.at("phases"))
            chart.bands.push_back({number_at(phase, "start_s"), number_at(phase, "end_s"), string_at(phase, "name")});
    return "<h2>Timeline</h2>\n" + html::line_chart(chart);
}

std::string phases_section(const json& profile) {
    if (!profile.contains("phases") || !profile.at("phases").is_array() || profile.at("phases").empty()) return "";
    std::vector<std::vector<std::string>> rows;
    for (const auto& phase : profile.at("phases"))
        rows.push_back({string_at(phase, "name"), fmt::format("{:.2f}", number_at(phase, "start_s")),
                        fmt::format("{:.2f}", number_at(phase, "end_s")),
                        mb(number_at(phase, "peak_rss_bytes", number_at(phase, "rss_peak_bytes")))});
    return "<h2>Phases</h2>\n" + html::table({"phase", "start (s)", "end (s)", "peak RSS (MB)"}, rows);
}

std::string import_tree_section(const json& profile) {
    if (!profile.contains("imports") || !profile.at("imports").is_object()) return "";
    const json& imports = profile.at("imports");
    if (!imports.contains("tree") || !imports.at("tree").is_array()) return "";
    const json& tree = imports.at("tree");
    const json modules = profile.contains("modules") && profile.at("modules").is_object() ? profile.at("modules") : json::object();
    std::map<long long, const json*> by_id;
    std::map<long long, std::vector<const json*>> children;
    for (const auto& node : tree) {
        const auto id = static_cast<long long>(number_at(node, "id", -1));
        by_id[id] = &node;
        children[static_cast<long long>(number_at(node, "parent", -1))].push_back(&node);
    }
    for (auto& [_, list] : children)
        std::sort(list.begin(), list.end(), [](const json* a, const json* b) {
            return number_at((*a).at("cumulative"), "rss_bytes") > number_at((*b).at("cumulative"), "rss_bytes");
        });
    std::string out = "<h2>Import tree</h2>\n<p class=\"muted\">Each import with the RSS and time it added itself "
                      "(own) and with everything it imported (cumulative), largest first; imports under 0.5 MB are "
                      "summed up; modules whose code never ran after import are marked.</p>\n";
    const json& total = imports.contains("total") ? imports.at("total") : json::object();
    out += fmt::format("<p>{} imports, {} MB RSS, {:.2f} s in total.</p>\n", static_cast<long long>(number_at(total, "count")),
                       mb(number_at(total, "rss_bytes")), number_at(total, "time_s"));
    std::size_t shown = 0;
    // Imports that added less than 0.5 MB (with what they imported) are summed up per parent.
    const double threshold = 0.5e6;
    std::function<void(long long, int)> walk = [&](long long parent, int depth) {
        auto it = children.find(parent);
        if (it == children.end() || depth > 12) return;
        out += "<ul class=\"tree\">\n";
        std::size_t small = 0;
        double small_bytes = 0;
        for (const json* node : it->second) {
            const double cumulative = number_at((*node).at("cumulative"), "rss_bytes");
            if (cumulative < threshold || ++shown > 300) {
                ++small;
                small_bytes += cumulative;
                continue;
            }
            const std::string name = string_at(*node, "name");
            const json& module = modules.contains(name) ? modules.at(name) : json::object();
            // a package ran when any module under it ran (the probe's subtree_ran; older profiles: ran)
            const char* ran_field = module.is_object() && module.contains("subtree_ran") ? "subtree_ran" : "ran";
            const bool never_ran = module.is_object() && module.contains(ran_field) && module.at(ran_field).is_boolean() &&
                                   !module.at(ran_field).get<bool>();
            out += fmt::format("<li><span class=\"mono\">{}</span> — own {} MB / {:.3f} s, cumulative {} MB / {:.3f} s{}{}",
                               escape(name), mb(number_at((*node).at("own"), "rss_bytes")),
                               number_at((*node).at("own"), "time_s"), mb(number_at((*node).at("cumulative"), "rss_bytes")),
                               number_at((*node).at("cumulative"), "time_s"),
                               never_ran ? " <span class=\"warn\">never ran</span>" : "",
                               node->value("failed", false) ? " <span class=\"bad\">failed</span>" : "");
            walk(static_cast<long long>(number_at(*node, "id", -2)), depth + 1);
            out += "</li>\n";
        }
        if (small)
            out += fmt::format("<li class=\"muted\">… {} smaller import{} ({} MB together)</li>\n", small, small == 1 ? "" : "s",
                               mb(small_bytes));
        out += "</ul>\n";
    };
    walk(-1, 0);
    return out;
}

std::string peak_section(const json& profile) {
    if (!profile.contains("peak") || !profile.at("peak").is_object()) return "";
    const json& peak = profile.at("peak");
    std::string out = fmt::format("<h2>At the peak ({:.2f} s, {} MB RSS, {} MB traced by tracemalloc)</h2>\n",
                                  number_at(peak, "time_s"), mb(number_at(peak, "rss_bytes")), mb(number_at(peak, "traced_bytes")));
    if (peak.contains("top_lines") && peak.at("top_lines").is_array()) {
        std::vector<std::vector<std::string>> rows;
        for (const auto& line : peak.at("top_lines")) {
            if (rows.size() >= 15) break;
            rows.push_back({fmt::format("{:.2f}", to_mb(number_at(line, "bytes"))),
                            fmt::format("{}", static_cast<long long>(number_at(line, "count"))), string_at(line, "allocated_at"),
                            string_at(line, "code")});
        }
        if (!rows.empty()) out += "<h3>Top allocating lines</h3>\n" + html::table({"MB", "blocks", "line", "code"}, rows);
    }
    if (peak.contains("census") && peak.at("census").is_object() && peak.at("census").contains("types") &&
        peak.at("census").at("types").is_array()) {
        std::vector<std::vector<std::string>> rows;
        for (const auto& type : peak.at("census").at("types")) {
            if (rows.size() >= 15) break;
            rows.push_back({string_at(type, "type"), fmt::format("{}", static_cast<long long>(number_at(type, "count"))),
                            fmt::format("{:.2f}", to_mb(number_at(type, "bytes")))});
        }
        if (!rows.empty()) out += "<h3>Objects by type</h3>\n" + html::table({"type", "objects", "MB"}, rows);
    }
    return out;
}

std::string never_run_section(const json& profile) {
    std::vector<std::vector<std::string>> rows;
    std::vector<std::pair<double, std::vector<std::string>>> ranked;
    if (profile.contains("never_ran") && profile.at("never_ran").is_array()) {
        for (const auto& module : profile.at("never_ran")) {
            const double rss = number_at(module, "cumulative_rss_bytes");
            ranked.push_back({rss, {string_at(module, "name"), mb(number_at(module, "own_rss_bytes")), mb(rss),
                                    fmt::format("{:.3f}", number_at(module, "cumulative_time_s")), string_at(module, "imported_by")}});
        }
    }
    if (ranked.empty() && profile.contains("modules") && profile.at("modules").is_object())
    for (const auto& [name, module] : profile.at("modules").items()) {
        if (!module.is_object() || !module.contains("ran") || !module.at("ran").is_boolean() || module.at("ran").get<bool>()) continue;
        if (module.value("preloaded", false)) continue;
        const double rss = number_at(module.at("cumulative"), "rss_bytes");
        ranked.push_back({rss, {name, mb(number_at(module.at("own"), "rss_bytes")), mb(rss),
                                fmt::format("{:.3f}", number_at(module.at("cumulative"), "time_s")),
                                string_at(module, "imported_by")}});
    }
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (auto& [_, row] : ranked) rows.push_back(std::move(row));
    if (rows.empty()) return "<h2>Modules never run</h2>\n<p class=\"muted\">Every imported module ran some of its code.</p>\n";
    return fmt::format("<h2>Modules never run ({})</h2>\n<p class=\"muted\">Imported, but none of their functions "
                       "ran after the import: candidates for the dead-data pass.</p>\n",
                       rows.size()) +
           html::table({"module", "own RSS (MB)", "cumulative RSS (MB)", "cumulative time (s)", "imported by"}, rows);
}

} // namespace

// A field of the wrong type (json::type_error) is bad input: one memopt::Error (found by fuzzing).
std::string profile_report_html(const json& profile) try {
    check_profile(profile); // every field has its documented type and range
    std::string argv = string_at(profile, "script");
    if (profile.contains("argv") && profile.at("argv").is_array())
        for (const auto& word : profile.at("argv"))
            if (word.is_string()) argv += (argv.empty() ? "" : " ") + word.get<std::string>();
    std::string body = fmt::format("<h1>memopt probe profile</h1>\n<p class=\"mono\">{}</p>\n", escape(argv));
    std::vector<std::vector<std::string>> facts;
    if (profile.contains("interpreter") && profile.at("interpreter").is_object()) {
        const auto& interpreter = profile.at("interpreter");
        facts.push_back({"interpreter", string_at(interpreter, "executable") + " " + string_at(interpreter, "version")});
        facts.push_back({"optimize", fmt::format("{}", static_cast<int>(number_at(interpreter, "optimize")))});
    }
    facts.push_back({"duration", fmt::format("{:.2f} s", number_at(profile, "duration_s"))});
    if (profile.contains("exit_status") && profile.at("exit_status").is_number())
        facts.push_back({"exit status", fmt::format("{}", profile.at("exit_status").get<long long>())});
    for (const char* key : {"peak_rss_bytes", "rss_peak_bytes"})
        if (profile.contains(key)) facts.push_back({"peak RSS", mb(number_at(profile, key)) + " MB"});
    body += html::table({"", ""}, facts);
    body += timeline_section(profile);
    body += phases_section(profile);
    body += import_tree_section(profile);
    body += never_run_section(profile);
    body += peak_section(profile);
    body += "<p class=\"muted\">Generated by memopt. MB = 10<sup>6</sup> bytes.</p>\n";
    return html::page("memopt profile: " + argv, body);
} catch (const json::exception& e) {
    throw Error(fmt::format("profile does not follow memopt.profile/1: {}", e.what()));
}

} // namespace memopt::reports
