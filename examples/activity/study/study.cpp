// The study pipeline: data -> model -> memopt optimize -> measure every step K times ->
// native predictor -> prediction check -> Fig. 3 traces -> LoC -> results files.
#include "examples/activity/study/study.h"

#include "common/error.h"
#include "common/paths.h"
#include "reports/render/html.h"
#include "examples/activity/study/process.h"
#include "examples/activity/study/steps.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <fmt/format.h>
#include <fmt/std.h>
#include <fstream>
#include <sstream>
#include <sys/utsname.h>
#include <thread>

namespace memopt::reports::study {

namespace fs = std::filesystem;

namespace {

// What a study directory holds; --force removes only these.
const char* kStudyEntries[] = {"data", "optimize", "runs", "traces", "logs", "results.json", "results.md", "index.html"};

std::string read_text(const fs::path& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) throw Error(fmt::format("cannot read {}", path));
    std::ostringstream text;
    text << file.rdbuf();
    return text.str();
}

void write_text(const fs::path& path, const std::string& text) {
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file << text;
    file.close();
    if (!file) throw Error(fmt::format("cannot write {}", path));
}

std::string tail_of(const fs::path& log, std::size_t lines = 6) {
    std::error_code ec;
    if (!fs::exists(log, ec)) return "";
    const std::string text = read_text(log);
    std::size_t pos = text.size();
    for (std::size_t n = 0; n <= lines && pos > 0; ++n) pos = text.rfind('\n', pos - 1);
    std::string tail = text.substr(pos == std::string::npos ? 0 : pos + 1);
    while (!tail.empty() && tail.back() == '\n') tail.pop_back();
    return tail;
}

void prepare_out_dir(const fs::path& out, bool force) {
    std::error_code ec;
    if (fs::exists(out, ec)) {
        if (!fs::is_directory(out, ec)) throw Error(fmt::format("{} exists and is not a directory", out));
        if (!fs::is_empty(out, ec)) {
            if (!force) throw Error(fmt::format("{} is not empty (use --force to replace a previous study there)", out));
            for (const char* entry : kStudyEntries) fs::remove_all(out / entry, ec);
        }
    }
    fs::create_directories(out, ec);
    if (ec) throw Error(fmt::format("cannot create {}: {}", out, ec.message()));
    for (const char* dir : {"data", "runs", "traces", "logs"}) fs::create_directories(out / dir);
}

class Runner {
  public:
    Runner(const fs::path& logs, std::map<std::string, std::string> env) : logs_(logs), env_(std::move(env)) {}

    // Runs a set-up step; throws with the end of its log when it fails.
    RunResult must(const std::string& name, std::vector<std::string> argv, const fs::path& cwd = {}) {
        RunSpec spec;
        spec.argv = std::move(argv);
        spec.cwd = cwd;
        spec.env = env_;
        spec.stdout_file = logs_ / (name + ".log");
        spec.stderr_file = logs_ / (name + ".err");
        const RunResult result = run_program(spec);
        if (result.status != 0)
            throw Error(fmt::format("{} failed with status {}: {}\n{}", name, result.status, shell_words(spec.argv),
                                    tail_of(*spec.stderr_file)));
        return result;
    }

    const std::map<std::string, std::string>& env() const { return env_; }

  private:
    fs::path logs_;
    std::map<std::string, std::string> env_;
};

std::string now_iso() {
    const std::time_t t = std::time(nullptr);
    char text[64];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S%z", std::localtime(&t));
    return text;
}

std::size_t count_lines(const std::string& text) { return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')); }

// cloc's code-line count (no blanks, no comments) for files or directories.
int cloc_lines(const std::vector<std::string>& paths, const std::string& languages, const fs::path& logs, const std::string& name) {
    std::vector<std::string> argv = {"cloc", "--quiet", "--csv"};
    if (!languages.empty()) argv.push_back("--include-lang=" + languages);
    argv.insert(argv.end(), paths.begin(), paths.end());
    RunSpec spec;
    spec.argv = argv;
    spec.stdout_file = logs / ("cloc-" + name + ".csv");
    spec.stderr_file = logs / ("cloc-" + name + ".err");
    const RunResult result = run_program(spec);
    if (result.status != 0) throw Error(fmt::format("cloc failed on {}", shell_words(paths)));
    // CSV: files,language,blank,comment,code ; the SUM line when several languages.
    std::istringstream csv(read_text(*spec.stdout_file));
    std::string line;
    int total = 0, sum = -1;
    while (std::getline(csv, line)) {
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

// The 1-minute load average (/proc/loadavg), 0 when unknown.
double load_average() {
    std::ifstream file("/proc/loadavg");
    double load = 0;
    file >> load;
    return load;
}

std::vector<std::string> with_output(std::vector<std::string> command, const fs::path& output) {
    for (auto& word : command)
        if (word == "predictions.csv") word = output.string();
    return command;
}

std::vector<std::string> replace_word(std::vector<std::string> command, const std::string& from, const std::string& to) {
    for (auto& word : command)
        if (word == from) word = to;
    return command;
}

// The header and the first `rows` rows of a CSV recording.
void write_sample(const fs::path& from, const fs::path& to, std::size_t rows) {
    std::ifstream in(from);
    std::ofstream out(to, std::ios::trunc);
    std::string line;
    for (std::size_t n = 0; n <= rows && std::getline(in, line); ++n) out << line << '\n';
    out.close();
    if (!out) throw Error(fmt::format("cannot write {}", to));
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

std::vector<const StepResult*> accepted_steps(const StudyResults& results) {
    std::vector<const StepResult*> steps;
    for (const auto& step : results.steps)
        if (step.accepted) steps.push_back(&step);
    return steps;
}

StudyResults run_study(const StudyOptions& options, const std::function<void(const std::string&)>& progress) {
    const auto started = std::chrono::steady_clock::now();
    if (options.repeat < 1) throw Error("--repeat must be at least 1");
    const fs::path memopt = options.memopt.empty() ? self_directory() / "memopt" : options.memopt;
    const fs::path example = options.example_dir.empty()
                                 ? find_beside_self("the activity example (examples/activity)",
                                                    {"../../examples/activity", "../share/memopt/examples/activity"})
                                 : options.example_dir;
    const fs::path native = options.native.empty()
                                ? find_beside_self("the native predictor activity_predict (build its target)", {"activity_predict"})
                                : options.native;
    if (!fs::exists(options.python)) throw Error(fmt::format("{} not found (the study needs Debian's Python)", options.python));
    if (options.data_csv && !fs::exists(*options.data_csv)) throw Error(fmt::format("{} not found", *options.data_csv));

    const fs::path out = fs::absolute(options.out_dir).lexically_normal();
    const fs::path data = out / "data", logs = out / "logs", runs = out / "runs", traces = out / "traces";
    std::map<std::string, std::string> env = {{"MPLBACKEND", "Agg"}, {"PYTHONPATH", python_package_dir().string()},
                                              {"OMP_NUM_THREADS", "1"}};
    Runner runner(logs, env);

    // Without the real passes there is no study: never make step programs up.
    if (!options.optimized_dir) {
        RunSpec check;
        check.argv = {memopt.string(), "optimize", "--help"};
        check.env = env;
        check.stdout_file = fs::temp_directory_path() / fmt::format("memopt-study-{}.help", ::getpid());
        check.stderr_file = *check.stdout_file;
        const RunResult result = run_program(check);
        const std::string help = read_text(*check.stdout_file);
        fs::remove(*check.stdout_file);
        if (result.status != 0 || help.find("not implemented") != std::string::npos) {
            std::string why = help.substr(0, help.find('\n'));
            throw Error(fmt::format("memopt optimize is unavailable ({}): the study needs the real passes to make each "
                                    "step's program, and makes none up",
                                    why.empty() ? fmt::format("status {}", result.status) : why));
        }
    }
    prepare_out_dir(out, options.force);

    StudyResults results;
    results.created = now_iso();
    results.repeat = options.repeat;
    {
        utsname name{};
        ::uname(&name);
        runner.must("python-version", {options.python, "-c", "import sys, numpy, sklearn, pandas; print(sys.version.split()[0], "
                                                             "'numpy', numpy.__version__, 'scikit-learn', sklearn.__version__, "
                                                             "'pandas', pandas.__version__)"});
        std::string versions = read_text(logs / "python-version.log");
        while (!versions.empty() && versions.back() == '\n') versions.pop_back();
        results.machine = fmt::format("{} cores, {} {} {}, Python {}", std::thread::hardware_concurrency(), name.sysname,
                                      name.release, name.machine, versions);
    }

    // 1. data
    const fs::path recording = data / "recording.csv";
    if (options.data_csv) {
        const fs::path source = fs::absolute(*options.data_csv);
        std::ifstream file(source);
        std::string first;
        std::getline(file, first);
        if (first.rfind("seq,", 0) == 0) {
            progress(fmt::format("data: copying {}", source));
            fs::copy_file(source, recording);
            results.data_source = fmt::format("{} (memopt layout)", source.string());
        } else {
            progress(fmt::format("data: converting the UCI file {}", source));
            runner.must("generate", {options.python, (example / "generate.py").string(), "--from-uci", source.string(), "-o",
                                     recording.string()});
            results.data_source = fmt::format("{} (UCI layout, converted)", source.string());
        }
    } else {
        progress(fmt::format("data: generating {} rows (seed 1)", options.rows));
        runner.must("generate", {options.python, (example / "generate.py").string(), "-o", recording.string(), "--rows",
                                 std::to_string(options.rows), "--seed", "1"});
        results.data_source = fmt::format("generated by examples/activity/generate.py, {} rows, seed 1", options.rows);
    }
    results.rows = count_lines(read_text(recording)) - 1;

    // 2. model
    std::vector<std::string> train = {options.python, (example / "train.py").string(), "-o", (data / "model.joblib").string()};
    if (options.train_rows) {
        train.insert(train.end(), {"--train-rows", std::to_string(*options.train_rows), "--test-rows",
                                   std::to_string(*options.train_rows / 10 + 1280)});
    }
    if (options.trees) train.insert(train.end(), {"--trees", std::to_string(*options.trees)});
    progress(fmt::format("model: training the forest ({} trees{})", options.trees.value_or(20),
                         options.train_rows ? fmt::format(", {} training rows", *options.train_rows) : ", train.py's default set"));
    runner.must("train", train);
    runner.must("export", {options.python, (example / "export_model.py").string(), (data / "model.joblib").string(), "-o",
                           (data / "model.forest").string()});
    {
        std::error_code ec;
        if (fs::exists(data / "model.json", ec)) {
            std::string model = read_text(data / "model.json");
            std::erase(model, '\n');
            results.model = model;
        }
    }

    // 3. the steps, from the real passes
    fs::path optimize_dir;
    const bool sampled = !options.optimized_dir && options.optimize_rows > 0 && options.optimize_rows < results.rows;
    const fs::path optimize_recording = sampled ? data / "optimize-sample.csv" : recording;
    if (options.optimized_dir) {
        optimize_dir = fs::absolute(*options.optimized_dir);
        progress(fmt::format("optimize: reusing {}", optimize_dir));
    } else {
        optimize_dir = out / "optimize";
        if (sampled) {
            write_sample(recording, optimize_recording, options.optimize_rows);
            results.notes.push_back(fmt::format("memopt optimize chose the steps on the first {} rows of the recording "
                                                "(--optimize-rows); every step was measured on all {} rows.",
                                                options.optimize_rows, results.rows));
        }
        progress(fmt::format("optimize: memopt optimize app.py on {} rows (probe, then each pass in the paper's order; "
                             "its progress follows)", sampled ? options.optimize_rows : results.rows));
        std::vector<std::string> argv = {memopt.string(), "optimize", (example / "app.py").string(), "-o", optimize_dir.string()};
        if (options.threshold_mb) argv.insert(argv.end(), {"--threshold-mb", fmt::format("{}", *options.threshold_mb)});
        argv.insert(argv.end(), {"--", optimize_recording.string(), (data / "model.joblib").string(), "predictions.csv"});
        RunSpec spec;
        spec.argv = argv;
        spec.cwd = out;
        spec.env = env;
        spec.stdout_file = logs / "optimize.log"; // its stderr (progress) goes to ours
        const RunResult result = run_program(spec);
        // Status 1: the threshold was not met, but the steps were written.
        if (result.status != 0 && !(result.status == 1 && fs::exists(optimize_dir / "steps.json")))
            throw Error(fmt::format("memopt optimize failed with status {} (see {}): {}", result.status, logs / "optimize.log",
                                    shell_words(argv)));
        if (result.status == 1) results.notes.push_back("memopt optimize did not reach --threshold-mb.");
    }
    const OptimizeSteps steps = read_steps(optimize_dir / "steps.json");

    // 4. measure every accepted step and the native predictor, K times, interleaved
    struct Job {
        StepResult* result;
        std::vector<std::string> argv;
        fs::path cwd;
        fs::path predictions;
        fs::path dir;
        std::vector<double> rss, wall;
    };
    for (const auto& step : steps.steps) {
        StepResult r;
        r.step = step.step;
        r.pass = step.pass;
        r.program = step.program;
        r.accepted = step.accepted;
        r.reason = step.reason;
        r.changes = step.changes;
        r.command = step.command;
        results.steps.push_back(std::move(r));
    }
    results.native.pass = "native";
    results.native.accepted = true;
    results.native.program = (example / "native").string();
    std::vector<Job> jobs;
    for (std::size_t i = 0; i < steps.steps.size(); ++i) {
        const auto& step = steps.steps[i];
        if (!step.accepted) continue;
        const std::string name = fmt::format("step{}-{}", step.step, step.pass);
        const fs::path dir = runs / name;
        fs::create_directories(dir);
        const fs::path cwd = !step.cwd.empty() ? step.cwd : optimize_dir / (step.dir.empty() ? "." : step.dir);
        const auto command = replace_word(with_output(step.command, dir / "predictions.csv"), optimize_recording.string(),
                                          recording.string());
        jobs.push_back({&results.steps[i], command, cwd, dir / "predictions.csv", dir, {}, {}});
    }
    fs::create_directories(runs / "native");
    jobs.push_back({&results.native,
                    {native.string(), recording.string(), (data / "model.forest").string(), (runs / "native/predictions.csv").string()},
                    runs / "native",
                    runs / "native/predictions.csv",
                    runs / "native",
                    {},
                    {}});
    std::string reference;
    for (auto& job : jobs) job.result->predictions_identical = true;
    const double load_before = load_average();
    for (int rep = 1; rep <= options.repeat; ++rep) {
        for (auto& job : jobs) {
            std::error_code ec;
            fs::remove(job.predictions, ec);
            RunSpec spec;
            spec.argv = job.argv;
            spec.cwd = job.cwd;
            spec.env = env;
            spec.stdout_file = job.dir / fmt::format("run{}.out", rep);
            spec.stderr_file = job.dir / fmt::format("run{}.err", rep);
            const RunResult run = run_program(spec);
            const std::string title = job.result->pass == "native" ? "native predictor" : fmt::format("step {} {}", job.result->step, job.result->pass);
            if (run.status != 0)
                throw Error(fmt::format("{} failed with status {} (run {}): {}\n{}", title, run.status, rep,
                                        shell_words(spec.argv), tail_of(*spec.stderr_file)));
            if (!fs::exists(job.predictions))
                throw Error(fmt::format("{} wrote no {} ({})", title, job.predictions, shell_words(spec.argv)));
            const std::string predictions = read_text(job.predictions);
            if (reference.empty()) reference = predictions; // the baseline's first run
            if (predictions != reference) job.result->predictions_identical = false;
            job.result->predictions = count_lines(predictions) > 0 ? count_lines(predictions) - 1 : 0;
            job.rss.push_back(static_cast<double>(run.max_rss_bytes));
            job.wall.push_back(run.wall_s);
            progress(fmt::format("measure {}/{}: {:<28} {:8.1f} MB {:7.2f} s{}", rep, options.repeat, title,
                                 static_cast<double>(run.max_rss_bytes) / 1e6, run.wall_s,
                                 predictions == reference ? "" : "  PREDICTIONS DIFFER"));
        }
    }
    const double load_after = load_average();
    results.notes.push_back(fmt::format(
        "Load average of the machine ({} cores) when the measurements began and ended: {:.1f} and {:.1f}.{}",
        std::thread::hardware_concurrency(), load_before, load_after,
        std::max(load_before, load_after) > std::thread::hardware_concurrency()
            ? " Other work was running: latencies are longer than on an idle machine (peak RSS is not affected)."
            : ""));
    for (auto& job : jobs) {
        job.result->peak_rss_bytes = make_stat(job.rss);
        job.result->wall_s = make_stat(job.wall);
    }
    results.blocks = results.steps.front().predictions;
    results.predictions_identical = std::all_of(jobs.begin(), jobs.end(), [](const Job& j) { return j.result->predictions_identical; });

    // 5. Fig. 3: the static baseline and the static-to-dynamic step under memopt record
    const Job* dynamic = nullptr;
    for (const auto& job : jobs)
        if (job.result->pass == "static-to-dynamic") dynamic = &job;
    if (!dynamic) {
        for (const auto& job : jobs)
            if (job.result->pass != "baseline" && job.result->pass != "native") {
                dynamic = &job;
                break;
            }
        results.notes.push_back(dynamic ? fmt::format("Fig. 3: the static-to-dynamic pass was not accepted; the timeline "
                                                      "compares the baseline with the first accepted step ({}).",
                                                      dynamic->result->pass)
                                        : "Fig. 3: no pass was accepted; only the baseline's timeline is shown.");
    }
    for (const Job* job : std::vector<const Job*>{&jobs.front(), dynamic}) {
        if (!job) continue;
        const std::string name = job == &jobs.front() ? "baseline" : job->result->pass;
        progress(fmt::format("fig. 3: memopt record of {}", name));
        const fs::path trace = traces / (name + ".trace");
        std::vector<std::string> argv = {memopt.string(), "record", "-o", trace.string(), "--"};
        argv.insert(argv.end(), job->argv.begin(), job->argv.end());
        runner.must("record-" + name, argv, job->cwd);
        const Summary summary = summarize_trace(trace);
        write_text(traces / (name + ".html"), trace_report_html(summary, nullptr));
        Timeline timeline;
        timeline.label = std::string(job == &jobs.front() ? "static baseline" : "after " + name);
        timeline.pass = job->result->pass;
        timeline.duration_s = summary.duration_s;
        timeline.peak_rss_bytes = summary.peak_rss_bytes;
        timeline.points = summary.timeline;
        timeline.phases = summary.phases;
        results.fig3.push_back(std::move(timeline));
    }

    // 6. lines of code (cloc)
    progress("lines of code: cloc");
    for (auto& step : results.steps) {
        if (!step.accepted || step.program.empty()) continue;
        const fs::path program = optimize_dir / step.program;
        std::error_code ec;
        if (fs::exists(program, ec)) step.loc = cloc_lines({program.string()}, "Python", logs, fmt::format("step{}", step.step));
    }
    results.native_loc = cloc_lines({(example / "native").string()}, "C++,C/C++ Header", logs, "native");
    results.native.loc = results.native_loc;

    results.duration_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    write_text(out / "results.json", results_to_json(results).dump(2) + "\n");
    write_text(out / "results.md", results_to_markdown(results));
    write_text(out / "index.html", results_to_html(results));
    return results;
}

} // namespace memopt::reports::study
