#include "transforms/step_traces.h"

#include "common/error.h"
#include "common/paths.h"
#include "transforms/measure.h"

#include <fmt/format.h>
#include <fstream>
#include <sstream>

namespace memopt::transforms {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// steps.json names the program by its file name, run from its step directory; the recorded
// run gets the absolute path instead and a scratch directory of its own, as optimize's
// measured runs do, so that nothing it writes lands in the step directory.
std::vector<std::string> absolute_command(const json& step, const fs::path& out) {
    auto command = step.at("command").get<std::vector<std::string>>();
    const fs::path program = out / step.at("program").get<std::string>();
    for (auto& word : command)
        if (word == program.filename().string()) {
            word = program.string();
            break;
        }
    return command;
}

std::string last_line(const fs::path& file) {
    std::ifstream in(file);
    std::string line, last;
    while (std::getline(in, line))
        if (!line.empty()) last = line;
    return last;
}

// "" when recorded, else why not.
std::string record_one(const json& step, const fs::path& out, const fs::path& trace) {
    const fs::path scratch = out / "traces" / fmt::format(".run-{}", step.at("step").get<int>());
    fs::create_directories(scratch);
    RunSpec spec;
    spec.argv = {(self_directory() / "memopt").string(), "record", "-o", trace.string(), "--"};
    const auto command = absolute_command(step, out);
    spec.argv.insert(spec.argv.end(), command.begin(), command.end());
    spec.cwd = scratch;
    spec.env["MPLBACKEND"] = "Agg";
    spec.stderr_file = scratch.string() + ".stderr";
    std::string why;
    try {
        const RunOutcome outcome = run_once(spec);
        if (outcome.status != 0) why = fmt::format("exit status {}: {}", outcome.status, last_line(spec.stderr_file));
        else if (!fs::exists(trace)) why = "no trace written";
    } catch (const Error& e) {
        why = e.what();
    }
    std::error_code ec;
    fs::remove_all(scratch, ec);
    fs::remove(spec.stderr_file, ec);
    return why;
}

} // namespace

void record_step_traces(json& doc, const fs::path& out, void (*progress)(const std::string&)) {
    json& steps = doc.at("steps");
    std::vector<json*> chosen = {&steps.at(0)};
    for (std::size_t i = 1; i < steps.size(); ++i)
        if (steps[i].value("accepted", false)) {
            chosen.push_back(&steps[i]);
            break;
        }
    fs::create_directories(out / "traces");
    std::string notes;
    for (json* step : chosen) {
        const int number = step->at("step").get<int>();
        const std::string name = number == 0 ? "traces/baseline.trace" : fmt::format("traces/step-{}.trace", number);
        if (progress) progress(fmt::format("memopt optimize: recording step {} for the per-step report ({}) ...", number, name));
        const std::string why = record_one(*step, out, out / name);
        if (why.empty()) (*step)["trace"] = name;
        else notes += fmt::format("{}step {} not recorded ({})", notes.empty() ? "" : "; ", number, why);
    }
    if (!notes.empty()) {
        doc["traces_note"] = notes;
        if (progress) progress("memopt optimize: " + notes);
    }
}

} // namespace memopt::transforms
