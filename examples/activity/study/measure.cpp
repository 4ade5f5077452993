// The study's measurements: every accepted step and the native predictor run K times on the
// whole recording, interleaved, each run's predictions compared with the baseline's; the
// two Fig. 3 recordings; lines of code.
#include "common/sizes.h"
#include "common/error.h"
#include "examples/activity/study/pipeline.h"
#include "reports/render/html.h"

#include <algorithm>
#include <fmt/format.h>
#include <fmt/std.h>
#include <fstream>
#include <sstream>
#include <thread>

namespace memopt::reports::study {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> replace_word(std::vector<std::string> command, const std::string& from, const std::string& to) {
    for (auto& word : command)
        if (word == from) word = to;
    return command;
}

// The 1-minute load average (/proc/loadavg), 0 when unknown.
double load_average() {
    std::ifstream file("/proc/loadavg");
    double load = 0;
    file >> load;
    return load;
}

// One measured run of `job`; returns its predictions.
std::string run_measured(Job& job, int rep, const std::map<std::string, std::string>& env) {
    std::error_code ec;
    fs::remove(job.predictions, ec);
    RunSpec spec;
    spec.argv = job.argv;
    spec.cwd = job.cwd;
    spec.env = env;
    spec.stdout_file = job.dir / fmt::format("run{}.out", rep);
    spec.stderr_file = job.dir / fmt::format("run{}.err", rep);
    const RunResult run = run_program(spec);
    if (run.status != 0)
        throw Error(fmt::format("{} failed with status {} (run {}): {}\n{}", job.title, run.status, rep, shell_words(spec.argv),
                                tail_of(*spec.stderr_file)));
    if (!fs::exists(job.predictions)) throw Error(fmt::format("{} wrote no {} ({})", job.title, job.predictions, shell_words(spec.argv)));
    job.rss.push_back(static_cast<double>(run.max_rss_bytes));
    job.wall.push_back(run.wall_s);
    return read_text(job.predictions);
}

std::string load_note(double before, double after) {
    const unsigned cores = std::thread::hardware_concurrency();
    return fmt::format("Load average of the machine ({} cores) when the measurements began and ended: {:.1f} and {:.1f}.{}", cores,
                       before, after,
                       std::max(before, after) > cores
                           ? " Other work was running: latencies are longer than on an idle machine (peak RSS is not affected)."
                           : "");
}

// Writes the jobs' runs into the results: the steps' measurements become the study's.
void store_measurements(const std::vector<Job>& jobs, StudyResults& results) {
    for (const auto& job : jobs) {
        const Check check{job.identical, job.lines, 0};
        if (job.step < 0) {
            results.native.peak_rss_bytes = make_stat(job.rss);
            results.native.wall_s = make_stat(job.wall);
            results.native.check = check;
            continue;
        }
        for (auto& step : results.steps.steps) {
            if (step.step != job.step) continue;
            step.peak_rss_runs.clear();
            for (double rss : job.rss) step.peak_rss_runs.push_back(static_cast<std::uint64_t>(rss));
            step.wall_runs = job.wall;
            step.peak_rss_bytes = static_cast<std::uint64_t>(make_stat(job.rss).median);
            step.wall_s = make_stat(job.wall).median;
        }
        results.checks[job.step] = check;
    }
    results.blocks = jobs.front().lines;
    results.predictions_identical = std::all_of(jobs.begin(), jobs.end(), [](const Job& j) { return j.identical; });
}

// cloc's code-line count (no blanks, no comments) for files or directories.
int cloc_lines(const std::vector<std::string>& paths, const std::string& languages, const fs::path& logs, const std::string& name) {
    std::vector<std::string> argv = {"cloc", "--quiet", "--csv"};
    if (!languages.empty()) argv.push_back("--include-lang=" + languages);
    argv.insert(argv.end(), paths.begin(), paths.end());
    RunSpec spec;
    spec.argv = argv;
    spec.stdout_file = logs / ("cloc-" + name + ".csv");
    spec.stderr_file = logs / ("cloc-" + name + ".err");
    if (run_program(spec).status != 0) throw Error(fmt::format("cloc failed on {}", shell_words(paths)));
    // CSV: files,language,blank,comment,code ; the SUM line when several languages.
    std::istringstream csv(read_text(*spec.stdout_file));
    int total = 0, sum = -1;
    for (std::string line; std::getline(csv, line);) {
        std::vector<std::string> fields;
        std::stringstream row(line);
        for (std::string field; std::getline(row, field, ',');) fields.push_back(field);
        if (fields.size() < 5 || fields[0] == "files") continue;
        const int code = std::atoi(fields[4].c_str());
        if (fields[1] == "SUM") sum = code;
        else total += code;
    }
    return sum >= 0 ? sum : total;
}

} // namespace

std::vector<Job> plan_jobs(const StudyResults& results, const Tools& tools, const Folders& folders, const Optimized& optimized,
                           const fs::path& recording) {
    std::vector<Job> jobs;
    for (const auto& step : results.steps.steps) {
        if (!step.accepted) continue;
        if (step.command.empty()) throw Error(fmt::format("{}: step {} was accepted but has no command", optimized.dir / "steps.json", step.step));
        Job job;
        job.title = fmt::format("step {} {}", step.step, step.pass);
        job.step = step.step;
        job.dir = folders.runs / fmt::format("step{}-{}", step.step, step.pass);
        job.predictions = job.dir / "predictions.csv";
        job.cwd = !step.cwd.empty() ? step.cwd : optimized.dir / (step.dir.empty() ? "." : step.dir);
        job.argv = replace_word(replace_word(step.command, "predictions.csv", job.predictions.string()),
                                optimized.recording.string(), recording.string());
        jobs.push_back(std::move(job));
    }
    Job native;
    native.title = "native predictor";
    native.dir = native.cwd = folders.runs / "native";
    native.predictions = native.dir / "predictions.csv";
    native.argv = {tools.native.string(), recording.string(), (folders.data / "model.forest").string(), native.predictions.string()};
    jobs.push_back(std::move(native));
    for (const auto& job : jobs) fs::create_directories(job.dir);
    return jobs;
}

void measure_jobs(std::vector<Job>& jobs, int repeat, const Runner& runner, StudyResults& results, const Progress& progress) {
    std::string reference; // the baseline's first run
    const double load_before = load_average();
    for (int rep = 1; rep <= repeat; ++rep) {
        for (auto& job : jobs) {
            const std::string predictions = run_measured(job, rep, runner.env());
            if (reference.empty()) reference = predictions;
            if (predictions != reference) job.identical = false;
            job.lines = count_lines(predictions) > 0 ? count_lines(predictions) - 1 : 0;
            progress(fmt::format("measure {}/{}: {:<28} {:8.1f} MB {:7.2f} s{}", rep, repeat, job.title, memopt::to_mb(job.rss.back()),
                                 job.wall.back(), predictions == reference ? "" : "  PREDICTIONS DIFFER"));
        }
    }
    results.notes.push_back(load_note(load_before, load_average()));
    store_measurements(jobs, results);
}

void record_fig3(const std::vector<Job>& jobs, const Tools& tools, const Folders& folders, const Runner& runner,
                 StudyResults& results, const Progress& progress) {
    // The paper's Fig. 3 compares the baseline with static-to-dynamic, the first pass: like
    // the per-step report, the study takes the first accepted step after the baseline.
    const Job* second = jobs.size() > 2 ? &jobs[1] : nullptr;
    const auto pass_of = [&](const Job& job) {
        for (const auto& step : results.steps.steps)
            if (step.step == job.step) return step.pass;
        return std::string();
    };
    if (!second) results.notes.push_back("Fig. 3: no pass was accepted; only the baseline's timeline is shown.");
    else if (pass_of(*second) != "static-to-dynamic")
        results.notes.push_back(fmt::format("Fig. 3: the static-to-dynamic pass was not the first accepted; the timeline "
                                            "compares the baseline with the first accepted step ({}).", pass_of(*second)));
    for (const Job* job : {&jobs.front(), second}) {
        if (!job) continue;
        const std::string name = job == &jobs.front() ? "baseline" : pass_of(*job);
        progress(fmt::format("fig. 3: memopt record of {}", name));
        const fs::path trace = folders.traces / (name + ".trace");
        std::vector<std::string> argv = {tools.memopt.string(), "record", "-o", trace.string(), "--"};
        argv.insert(argv.end(), job->argv.begin(), job->argv.end());
        runner.must("record-" + name, argv, job->cwd);
        steps::Timeline timeline;
        timeline.label = job == &jobs.front() ? "static baseline" : "after " + name;
        timeline.step = job->step;
        timeline.pass = pass_of(*job);
        timeline.trace = "traces/" + name + ".trace";
        timeline.summary = summarize_trace(trace);
        write_text(folders.traces / (name + ".html"), trace_report_html(timeline.summary, nullptr));
        results.fig3.push_back(std::move(timeline));
    }
}

void count_code_lines(const Tools& tools, const Folders& folders, const Optimized& optimized, StudyResults& results,
                      const Progress& progress) {
    progress("lines of code: cloc");
    for (const auto& step : results.steps.steps) {
        if (!step.accepted || step.program.empty()) continue;
        const fs::path program = optimized.dir / step.program;
        std::error_code ec;
        if (fs::exists(program, ec))
            results.checks[step.step].loc = cloc_lines({program.string()}, "Python", folders.logs, fmt::format("step{}", step.step));
    }
    results.native.check.loc = cloc_lines({(tools.example / "native").string()}, "C++,C/C++ Header", folders.logs, "native");
}

} // namespace memopt::reports::study
