#include "reports/gate/baseline.h"

#include "common/error.h"
#include "common/output_file.h"
#include "reports/analysis/json_input.h"
#include "reports/analysis/summary_json.h"

#include <cmath>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <fmt/std.h>

namespace memopt::reports {

using nlohmann::json;

namespace {

constexpr double kMaxTolerancePercent = 10000; // the range limit_from_baseline accepts

GateSettings settings_from_json(const json& gate) {
    auto fail = [](const char* field, const char* why) {
        throw Error(fmt::format("field 'gate.{}' {}", field, why));
    };
    if (!gate.is_object()) throw Error("field 'gate' must be a JSON object");
    GateSettings settings;
    const auto metric = gate.find("metric");
    if (metric == gate.end()) fail("metric", "is missing");
    if (!metric->is_string()) fail("metric", "must be \"peak_rss\" or \"peak_heap\"");
    settings.metric = parse_gate_metric(metric->get<std::string>());
    if (const auto tolerance = gate.find("tolerance_percent"); tolerance != gate.end()) {
        if (!tolerance->is_number() || !std::isfinite(tolerance->get<double>()) || tolerance->get<double>() < 0 ||
            tolerance->get<double>() > kMaxTolerancePercent)
            fail("tolerance_percent", "must be a number from 0 to 10000");
        settings.tolerance_percent = tolerance->get<double>();
    }
    if (const auto command = gate.find("command"); command != gate.end()) {
        if (!command->is_array()) fail("command", "must be a list of strings");
        for (const auto& word : *command) {
            if (!word.is_string()) fail("command", "must be a list of strings");
            settings.command.push_back(word.get<std::string>());
        }
    }
    return settings;
}

std::string words(const std::vector<std::string>& command) { return fmt::format("{}", fmt::join(command, " ")); }

} // namespace

GateBaseline read_gate_baseline(const std::filesystem::path& path) {
    const json document = read_json_file(path, "a memopt summary");
    try {
        GateBaseline baseline;
        baseline.summary = summary_from_json(document);
        if (const auto gate = document.find("gate"); gate != document.end()) baseline.settings = settings_from_json(*gate);
        return baseline;
    } catch (const Error& e) {
        throw Error(fmt::format("{}: {}", path, e.what()));
    }
}

void save_gate_baseline(const Summary& summary, const GateSettings& settings, const std::filesystem::path& path,
                        bool force) {
    json document = summary_to_json(summary);
    document["gate"] = {{"metric", gate_metric_name(settings.metric)},
                        {"tolerance_percent", settings.tolerance_percent},
                        {"command", settings.command}};
    // Command words may be any bytes; dump() needs UTF-8, so invalid sequences become U+FFFD.
    write_output_file(path, document.dump(2, ' ', false, json::error_handler_t::replace) + "\n", force);
}

BaselineLimit limit_from_gate_baseline(const GateBaseline& baseline, const GateChoices& choices,
                                       const std::vector<std::string>& command, const std::string& baseline_name) {
    BaselineLimit out;
    const GateSettings recorded = baseline.settings.value_or(GateSettings{});
    if (!baseline.settings && !choices.metric)
        out.notes.push_back(fmt::format("baseline {} records no metric (a summary from `report --format json` or an "
                                        "older `gate --save`): comparing peak_rss; --metric chooses",
                                        baseline_name));
    if (baseline.settings && choices.metric && *choices.metric != recorded.metric)
        out.notes.push_back(fmt::format("comparing {} as --metric says; baseline {} was saved for {}",
                                        gate_metric_name(*choices.metric), baseline_name,
                                        gate_metric_name(recorded.metric)));
    if (baseline.settings && choices.tolerance_percent && *choices.tolerance_percent != recorded.tolerance_percent)
        out.notes.push_back(fmt::format("tolerance {:g}% as --tolerance says; baseline {} was saved with {:g}%",
                                        *choices.tolerance_percent, baseline_name, recorded.tolerance_percent));
    if (baseline.settings && !recorded.command.empty() && recorded.command != command)
        out.notes.push_back(fmt::format("baseline {} was saved for `{}`, this run is `{}`", baseline_name,
                                        words(recorded.command), words(command)));
    out.settings.metric = choices.metric.value_or(recorded.metric);
    out.settings.tolerance_percent = choices.tolerance_percent.value_or(recorded.tolerance_percent);
    out.settings.command = command;
    out.limit = limit_from_baseline(baseline.summary, out.settings.metric, out.settings.tolerance_percent, baseline_name);
    return out;
}

} // namespace memopt::reports
