// The study pipeline: data -> model -> memopt optimize -> measure every step K times ->
// native predictor -> prediction check -> Fig. 3 traces -> LoC -> results files. Each
// stage is a function of pipeline.h.
#include "examples/activity/study/study.h"

#include "common/error.h"
#include "common/paths.h"
#include "examples/activity/study/paper.h"
#include "examples/activity/study/pipeline.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <fmt/format.h>
#include <map>

namespace memopt::reports::study {

namespace fs = std::filesystem;

namespace {

std::string now_iso() {
    const std::time_t t = std::time(nullptr);
    char text[64];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S%z", std::localtime(&t));
    return text;
}

std::vector<double> as_doubles(const std::vector<std::uint64_t>& values) { return {values.begin(), values.end()}; }

// What every program the study runs sees: no display, `import memopt` for the phase
// markers, one OpenMP thread (the measured runs compare programs, not thread pools).
std::map<std::string, std::string> study_environment() {
    return {{"MPLBACKEND", "Agg"}, {"PYTHONPATH", python_package_dir().string()}, {"OMP_NUM_THREADS", "1"}};
}

void write_outputs(const Folders& folders, const StudyResults& results) {
    write_text(folders.out / "results.json", results_to_json(results).dump(2) + "\n");
    write_text(folders.out / "results.md", results_to_markdown(results));
    write_text(folders.out / "index.html", results_to_html(results));
}

} // namespace

Stat make_stat(std::vector<double> runs) {
    Stat stat;
    stat.runs = runs;
    if (runs.empty()) return stat;
    std::sort(runs.begin(), runs.end());
    const std::size_t n = runs.size();
    stat.median = n % 2 ? runs[n / 2] : (runs[n / 2 - 1] + runs[n / 2]) / 2;
    stat.min = runs.front();
    stat.max = runs.back();
    return stat;
}

Stat peak_rss_stat(const steps::Step& step) { return make_stat(as_doubles(step.peak_rss_runs)); }
Stat wall_stat(const steps::Step& step) { return make_stat(step.wall_runs); }

std::vector<steps::Row> study_rows(const StudyResults& results) {
    // A pass accepted again in a later round (flags finding one more option) is a step of its
    // own, but not another of the paper's steps.
    auto rows = steps::report_rows(results.steps);
    std::map<std::string, int> seen;
    for (auto& row : rows) {
        row.title = std::string(paper::step_title(row.step->pass));
        if (++seen[row.step->pass] > 1) row.title += fmt::format(" (round {})", seen[row.step->pass]);
    }
    return rows;
}

std::vector<const steps::Step*> accepted_steps(const StudyResults& results) {
    std::vector<const steps::Step*> accepted;
    for (const auto& row : steps::report_rows(results.steps))
        if (row.step->accepted) accepted.push_back(row.step);
    return accepted;
}

const Check& check_of(const StudyResults& results, const steps::Step& step) {
    static const Check kNone;
    const auto it = results.checks.find(step.step);
    return it == results.checks.end() ? kNone : it->second;
}

StudyResults run_study(const StudyOptions& options, const std::function<void(const std::string&)>& progress) {
    const auto started = std::chrono::steady_clock::now();
    const Tools tools = locate_tools(options);
    if (!options.optimized_dir) check_optimize_available(tools, study_environment());
    const Folders folders = prepare_folders(options.out_dir, options.force);
    const Runner runner(folders.logs, study_environment());

    StudyResults results;
    results.created = now_iso();
    results.repeat = options.repeat;
    results.machine = describe_machine(runner, tools.python);
    const fs::path recording = prepare_data(options, tools, folders, runner, results, progress);
    train_model(options, tools, folders, runner, results, progress);
    const Optimized optimized = run_optimize(options, tools, folders, runner, results, progress);
    results.steps = steps::read_steps(optimized.dir / "steps.json");
    results.native.program = (tools.example / "native").string();

    std::vector<Job> jobs = plan_jobs(results, tools, folders, optimized, recording);
    measure_jobs(jobs, options.repeat, runner, results, progress);
    record_fig3(jobs, tools, folders, runner, results, progress);
    count_code_lines(tools, folders, optimized, results, progress);

    results.duration_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    write_outputs(folders, results);
    return results;
}

} // namespace memopt::reports::study
