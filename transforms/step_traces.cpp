#include "transforms/step_traces.h"

#include "common/error.h"
#include "common/paths.h"
#include "transforms/measure.h"
#include "transforms/outputs.h"

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

// "" when recorded, else why not.
std::string record_one(const Program& program, Sandbox& sandbox, const fs::path& trace) {
    sandbox.reset();
    ObserveOptions options;
    options.hook = false; // as a measured run
    RunSpec spec = sandbox_spec(program, sandbox, options);
    std::vector<std::string> argv = {(self_directory() / "memopt").string(), "record", "-q", "-o", trace.string(), "--"};
    argv.insert(argv.end(), spec.argv.begin(), spec.argv.end());
    spec.argv = std::move(argv);
    std::string why;
    try {
        const RunOutcome outcome = run_once(spec);
        if (outcome.status != 0) why = fmt::format("exit status {}: {}", outcome.status, last_line(spec.stderr_file));
        else if (!fs::exists(trace)) why = "no trace written";
    } catch (const Error& e) {
        why = e.what();
    }
    return why;
}

json* step_numbered(json& steps, int number) {
    for (auto& step : steps)
        if (step.value("step", -1) == number) return &step;
    return nullptr;
}

} // namespace

void record_step_traces(json& doc, const fs::path& out, const std::vector<TracedStep>& traced, Sandbox& sandbox,
                        void (*progress)(const std::string&)) {
    fs::create_directories(out / "traces");
    std::string notes;
    for (const TracedStep& step : traced) {
        json* entry = step_numbered(doc.at("steps"), step.number);
        if (!entry) continue;
        const std::string name = step.number == 0 ? "traces/baseline.trace" : fmt::format("traces/step-{}.trace", step.number);
        if (progress) progress(fmt::format("memopt optimize: recording step {} for the per-step report ({}) ...", step.number, name));
        const std::string why = record_one(step.program, sandbox, out / name);
        if (why.empty()) (*entry)["trace"] = name;
        else notes += fmt::format("{}step {} not recorded ({})", notes.empty() ? "" : "; ", step.number, why);
    }
    if (!notes.empty()) {
        doc["traces_note"] = notes;
        if (progress) progress("memopt optimize: " + notes);
    }
}

} // namespace memopt::transforms
