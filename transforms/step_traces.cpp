#include "transforms/step_traces.h"

#include "common/error.h"
#include "common/paths.h"
#include "transforms/measure.h"
#include "transforms/outputs.h"

#include <algorithm>
#include <fmt/format.h>
#include <fstream>

namespace memopt::transforms {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string last_line(const fs::path& file) {
    std::ifstream in(file);
    std::string line, last;
    while (std::getline(in, line))
        if (!line.empty()) last = line;
    return last;
}

// The recording run of `program` in `sandbox` (reset first): `memopt record` around the
// sandboxed command.
RunSpec recording_spec(const Program& program, Sandbox& sandbox, const fs::path& trace) {
    sandbox.reset();
    ObserveOptions options;
    options.hook = false; // as a measured run
    RunSpec spec = sandbox_spec(program, sandbox, options);
    std::vector<std::string> argv = {(self_directory() / "memopt").string(), "record", "-q", "-o", trace.string(), "--"};
    argv.insert(argv.end(), spec.argv.begin(), spec.argv.end());
    spec.argv = std::move(argv);
    return spec;
}

// Records each (program, trace) at the same time, one per sandbox; "" per recording when
// recorded, else why not.
std::vector<std::string> record_together(const std::vector<std::pair<Program, fs::path>>& runs,
                                         const std::vector<Sandbox*>& sandboxes) {
    std::vector<RunSpec> specs;
    for (std::size_t i = 0; i < runs.size(); ++i) specs.push_back(recording_spec(runs[i].first, *sandboxes[i], runs[i].second));
    std::vector<std::string> why(runs.size());
    try {
        const std::vector<RunOutcome> outcomes = run_together(specs);
        for (std::size_t i = 0; i < runs.size(); ++i) {
            if (outcomes[i].status != 0)
                why[i] = fmt::format("exit status {}: {}", outcomes[i].status, last_line(specs[i].stderr_file));
            else if (!fs::exists(runs[i].second)) why[i] = "no trace written";
        }
    } catch (const Error& e) {
        for (auto& w : why) w = e.what();
    }
    return why;
}

json* step_numbered(json& steps, int number) {
    for (auto& step : steps)
        if (step.value("step", -1) == number) return &step;
    return nullptr;
}

} // namespace

void record_step_traces(json& doc, const fs::path& out, const std::vector<TracedStep>& traced,
                        const std::vector<Sandbox*>& sandboxes, void (*progress)(const std::string&)) {
    fs::create_directories(out / "traces");
    std::vector<std::pair<json*, std::string>> entries; // the step's entry and its trace's name
    std::vector<std::pair<Program, fs::path>> runs;
    for (const TracedStep& step : traced) {
        json* entry = step_numbered(doc.at("steps"), step.number);
        if (!entry) continue;
        const std::string name = step.number == 0 ? "traces/baseline.trace" : fmt::format("traces/step-{}.trace", step.number);
        if (progress) progress(fmt::format("memopt optimize: recording step {} for the per-step report ({}) ...", step.number, name));
        entries.emplace_back(entry, name);
        runs.emplace_back(step.program, out / name);
    }
    std::vector<std::string> why;
    for (std::size_t i = 0; i < runs.size(); i += sandboxes.size()) {
        const std::size_t n = std::min(sandboxes.size(), runs.size() - i);
        const auto some = record_together({runs.begin() + static_cast<std::ptrdiff_t>(i), runs.begin() + static_cast<std::ptrdiff_t>(i + n)}, sandboxes);
        why.insert(why.end(), some.begin(), some.end());
    }
    std::string notes;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        if (why[i].empty()) (*entries[i].first)["trace"] = entries[i].second;
        else notes += fmt::format("{}step {} not recorded ({})", notes.empty() ? "" : "; ",
                                  entries[i].second == "traces/baseline.trace" ? 0 : traced[i].number, why[i]);
    }
    if (!notes.empty()) {
        doc["traces_note"] = notes;
        if (progress) progress("memopt optimize: " + notes);
    }
}

} // namespace memopt::transforms
