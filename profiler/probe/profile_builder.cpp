#include "profiler/probe/profile_builder.h"

#include "profiler/probe/alloc_sampler.h"

#include <algorithm>
#include <map>

namespace memopt::probe {

using nlohmann::json;

namespace {

const char* tracking_name(AllocTracking tracking) {
    switch (tracking) {
    case AllocTracking::kSampled: return "sampled";
    case AllocTracking::kTracemalloc: return "tracemalloc";
    case AllocTracking::kNone: break;
    }
    return "none";
}

json interpreter_section(const json& python, const NativeParts& n) {
    return {
        {"executable", python.value("sys_executable", "")},
        {"version", n.python_version},
        {"optimize", python.value("sys_flags_optimize", 0)},
        {"xoptions", python.value("xoptions", json::object())},
        {"sys_path", python.value("sys_path", json::array())},
        {"allocation_tracking", tracking_name(n.options->tracking)},
        {"tracemalloc_frames", n.options->tracking == AllocTracking::kTracemalloc ? n.options->frames : 0},
        {"code_tracking", n.options->track_code},
        {"tracemalloc", n.options->tracking == AllocTracking::kTracemalloc},
        {"sampling", n.options->tracking == AllocTracking::kSampled
                         ? json{{"mean_bytes", n.options->sample_bytes},
                                {"every_allocation", n.options->sample_bytes <= 1},
                                {"max_frames", kSampledMaxFrames}}
                         : json(nullptr)},
        {"sampling_interval_ms", n.options->interval_ms},
    };
}

// Per-phase peaks: RSS from the timeline (samples inside the phase and at its markers),
// traced memory from the polls (each knows the highest value since the previous poll).
json phases_section(const NativeParts& n) {
    json phases = json::array();
    std::map<std::string, std::vector<const PhaseEvent*>> open;
    for (const auto& event : n.phases) {
        if (event.begin) {
            open[event.name].push_back(&event);
            continue;
        }
        auto& stack = open[event.name];
        if (stack.empty()) continue;
        const PhaseEvent* begin = stack.back();
        stack.pop_back();
        std::int64_t peak_rss = std::max(begin->rss, event.rss);
        for (const auto& s : n.rss)
            if (s.t >= begin->t && s.t <= event.t && !s.during_snapshot) peak_rss = std::max(peak_rss, s.rss);
        std::int64_t peak_traced = 0;
        for (const auto& s : n.poller.samples)
            if (s.t > begin->t && s.t <= event.t + 1e-6) peak_traced = std::max(peak_traced, s.interval_peak);
        phases.push_back({{"name", event.name},
                          {"start_s", begin->t - n.script_start_s},
                          {"end_s", event.t - n.script_start_s},
                          {"rss_start_bytes", begin->rss},
                          {"rss_end_bytes", event.rss},
                          {"peak_rss_bytes", peak_rss},
                          {"peak_traced_bytes", peak_traced}});
    }
    std::sort(phases.begin(), phases.end(),
              [](const json& a, const json& b) { return a["start_s"].get<double>() < b["start_s"].get<double>(); });
    return phases;
}

json imports_section(const json& python, json& modules_out) {
    const json& nodes = python.at("imports");
    json tree = json::array();
    json total = {{"time_s", 0.0}, {"rss_bytes", 0}, {"traced_bytes", 0}, {"count", 0}};
    std::map<std::string, std::size_t> first_success;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        const json& node = nodes[i];
        json out = node;
        out["id"] = i;
        tree.push_back(out);
        const std::string name = node.at("name");
        if (!node.at("failed").get<bool>()) first_success.try_emplace(name, i);
        if (node.at("parent").get<long>() < 0) {
            const json& c = node.at("cumulative");
            total["time_s"] = total["time_s"].get<double>() + c.at("time_s").get<double>();
            total["rss_bytes"] = total["rss_bytes"].get<std::int64_t>() + c.at("rss_bytes").get<std::int64_t>();
            total["traced_bytes"] = total["traced_bytes"].get<std::int64_t>() + c.at("traced_bytes").get<std::int64_t>();
        }
    }
    total["count"] = first_success.size();

    json modules = json::object();
    for (const auto& [name, info] : python.at("modules").items()) {
        json m = {{"file", info.at("file")},
                  {"preloaded", info.at("preloaded")},
                  {"functions_run", info.at("functions_run")},
                  {"functions_run_after_import", info.at("functions_run_after_import")},
                  {"ran", info.at("functions_run").get<long>() > 0}};
        if (auto it = first_success.find(name); it != first_success.end()) {
            const json& node = nodes[it->second];
            m["import_id"] = it->second;
            m["own"] = node.at("own");
            m["cumulative"] = node.at("cumulative");
            const long parent = node.at("parent").get<long>();
            m["imported_by"] = node.at("importer");
            m["parent_import"] = parent >= 0 ? json(nodes[static_cast<std::size_t>(parent)].at("name")) : json(nullptr);
        } else {
            const json zero = {{"time_s", 0.0}, {"rss_bytes", 0}, {"traced_bytes", 0}};
            m["import_id"] = nullptr;
            m["own"] = zero;
            m["cumulative"] = zero;
            m["imported_by"] = nullptr;
            m["parent_import"] = nullptr;
        }
        modules[name] = m;
    }
    modules_out = modules;
    return {{"total", total}, {"tree", tree}};
}

// The package a dotted module name belongs to ("a.b.c" -> "a.b"); empty for a top-level name.
std::string parent_of(const std::string& name) {
    const auto dot = name.rfind('.');
    return dot == std::string::npos ? std::string() : name.substr(0, dot);
}

// A module's subtree is the module and every module named NAME + ".": a package ran when any
// module under it ran a function (sklearn.ensemble ran when sklearn.ensemble._forest did).
void add_subtree_counts(json& modules) {
    for (auto& [name, m] : modules.items()) {
        m["subtree_functions_run"] = m.at("functions_run");
        m["subtree_ran"] = m.at("ran");
    }
    for (const auto& [name, m] : modules.items()) {
        const long run = m.at("functions_run").get<long>();
        if (run == 0) continue;
        for (std::string up = parent_of(name); !up.empty(); up = parent_of(up)) {
            auto it = modules.find(up);
            if (it == modules.end()) continue; // a namespace package never bound in sys.modules
            (*it)["subtree_functions_run"] = (*it)["subtree_functions_run"].get<long>() + run;
            (*it)["subtree_ran"] = true;
        }
    }
}

bool listed_as_never_run(const std::string& name, const json& m) {
    return !m.at("subtree_ran").get<bool>() && !m.at("preloaded").get<bool>() && !m.at("import_id").is_null() &&
           name != "__main__";
}

// Modules whose whole subtree ran no function, by cumulative RSS. subtree_root: no package
// above it is listed (its parent ran, was there before the script, or there is none), so the
// lazy-import pass can take the roots and leave what is under them alone.
json never_ran_section(const json& modules) {
    std::vector<std::pair<std::string, const json*>> rows;
    for (const auto& [name, m] : modules.items())
        if (listed_as_never_run(name, m)) rows.emplace_back(name, &m);
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
        return a.second->at("cumulative").at("rss_bytes").template get<std::int64_t>() >
               b.second->at("cumulative").at("rss_bytes").template get<std::int64_t>();
    });
    json out = json::array();
    for (const auto& [name, m] : rows) {
        bool root = true;
        for (std::string up = parent_of(name); root && !up.empty(); up = parent_of(up))
            if (auto it = modules.find(up); it != modules.end() && listed_as_never_run(up, *it)) root = false;
        out.push_back({{"name", name},
                       {"subtree_root", root},
                       {"own_rss_bytes", m->at("own").at("rss_bytes")},
                       {"cumulative_rss_bytes", m->at("cumulative").at("rss_bytes")},
                       {"own_traced_bytes", m->at("own").at("traced_bytes")},
                       {"cumulative_traced_bytes", m->at("cumulative").at("traced_bytes")},
                       {"cumulative_time_s", m->at("cumulative").at("time_s")}});
    }
    return out;
}

} // namespace

json build_profile(const json& python, const NativeParts& n) {
    json profile;
    profile["schema"] = "memopt.profile/1";
    profile["tool"] = {{"name", "memopt"}, {"version", "0.1.0"}};
    profile["script"] = n.options->script.string();
    profile["argv"] = n.options->args;
    profile["interpreter"] = interpreter_section(python, n);
    profile["exit_status"] = n.exit_status;
    profile["duration_s"] = n.duration_s;
    profile["stdout"] = {{"sha256", n.stdout_sha256}, {"bytes", n.stdout_bytes}};

    // Peak RSS of the program: the timeline without the moments the probe itself was taking
    // its snapshot (those are replaced by the RSS just before it).
    std::int64_t peak_rss = n.rss_at_script_start, vmhwm = n.vmhwm;
    double peak_t = 0;
    json t_s = json::array(), rss_bytes = json::array();
    for (const auto& s : n.rss) {
        t_s.push_back(s.t - n.script_start_s);
        rss_bytes.push_back(s.rss);
        if (!s.during_snapshot && s.rss > peak_rss) {
            peak_rss = s.rss;
            peak_t = s.t - n.script_start_s;
        }
    }
    if (n.poller.rss_before_snapshot > peak_rss) peak_rss = n.poller.rss_before_snapshot;
    json traced_t = json::array(), traced_current = json::array(), traced_peak = json::array();
    for (const auto& s : n.poller.samples) {
        traced_t.push_back(s.t - n.script_start_s);
        traced_current.push_back(s.current);
        traced_peak.push_back(s.interval_peak);
    }
    profile["peak_rss_bytes"] = peak_rss;
    profile["peak_rss_time_s"] = peak_t;
    profile["vmhwm_bytes"] = vmhwm;
    profile["peak_traced_bytes"] = n.poller.max_interval_peak;
    profile["baseline"] = {{"rss_before_python_bytes", n.rss_before_python},
                           {"rss_at_script_start_bytes", n.rss_at_script_start},
                           {"traced_at_script_start_bytes", n.traced_at_script_start}};
    const std::int64_t tracemalloc_bytes = python.value("tracemalloc_memory_bytes", std::int64_t{0});
    const std::int64_t sampler_bytes = n.alloc_sampler.value("table_bytes", std::int64_t{0});
    profile["probe_overhead"] = {
        {"native_before_python_bytes", n.rss_before_python},
        {"tracemalloc_bytes", tracemalloc_bytes},
        {"code_tracking_bytes", n.code_tracking_bytes},
        {"census_scratch_bytes", python.contains("census") && python["census"].is_object()
                                     ? python["census"].value("scratch_bytes", std::int64_t{0})
                                     : std::int64_t{0}},
        {"snapshots", n.poller.snapshots},
        {"snapshot_time_s", n.poller.snapshot_time_s},
        {"sampler_bytes", sampler_bytes},
        {"allocation_sampler", n.alloc_sampler},
        {"estimated_rss_bytes", n.rss_before_python + tracemalloc_bytes + sampler_bytes +
                                    static_cast<std::int64_t>(n.code_tracking_bytes)},
    };
    profile["timeline"] = {{"t_s", t_s}, {"rss_bytes", rss_bytes}};
    profile["traced_timeline"] = {{"t_s", traced_t}, {"current_bytes", traced_current}, {"interval_peak_bytes", traced_peak}};
    profile["phases"] = phases_section(n);

    json modules;
    profile["imports"] = imports_section(python, modules);
    for (auto& node : profile["imports"]["tree"])
        node["start_s"] = node["start_s"].get<double>() - n.script_start_s;
    add_subtree_counts(modules);
    profile["never_ran"] = never_ran_section(modules);
    profile["modules"] = modules;

    json peak = python.value("snapshot", json::object());
    for (const char* key : {"time_s", "census_time_s"})
        if (peak.contains(key) && peak[key].is_number()) peak[key] = peak[key].get<double>() - n.script_start_s;
    peak["top_lines_estimated"] = n.options->tracking == AllocTracking::kSampled && n.options->sample_bytes > 1;
    peak["missed"] = n.poller.snapshot_traced >= 0 &&
                     n.poller.max_interval_peak > n.poller.snapshot_traced + n.poller.snapshot_traced / 10;
    peak["top_lines"] = python.value("top_lines", json::array());
    peak["census"] = python.value("census", json::object());
    profile["peak"] = peak;
    return profile;
}

} // namespace memopt::probe
