#pragma once
// The stages of the study, in the order run_study (study.cpp) calls them, and what they
// share: the tools, the output folders, a runner for set-up steps. Internal to the study.
#include "examples/activity/study/process.h"
#include "examples/activity/study/study.h"

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace memopt::reports::study {

using Progress = std::function<void(const std::string&)>;

struct Tools {
    std::filesystem::path memopt, example, native;
    std::string python;
};

struct Folders {
    std::filesystem::path out, data, logs, runs, traces;
};

std::string read_text(const std::filesystem::path& path);
void write_text(const std::filesystem::path& path, const std::string& text);
std::string tail_of(const std::filesystem::path& log, std::size_t lines = 6);
std::size_t count_lines(const std::string& text);

// Runs set-up steps with the study's environment, each logged to logs/NAME.{log,err}.
class Runner {
  public:
    Runner(std::filesystem::path logs, std::map<std::string, std::string> env) : logs_(std::move(logs)), env_(std::move(env)) {}
    // Throws with the end of the step's stderr when it fails.
    RunResult must(const std::string& name, std::vector<std::string> argv, const std::filesystem::path& cwd = {}) const;
    const std::map<std::string, std::string>& env() const { return env_; }
    const std::filesystem::path& logs() const { return logs_; }

  private:
    std::filesystem::path logs_;
    std::map<std::string, std::string> env_;
};

// setup.cpp
Tools locate_tools(const StudyOptions& options);
// Without the real passes there is no study: never make step programs up.
void check_optimize_available(const Tools& tools, const std::map<std::string, std::string>& env);
Folders prepare_folders(const std::filesystem::path& out_dir, bool force);
std::string describe_machine(const Runner& runner, const std::string& python);

// data.cpp: the recording (results.data_source, rows) and the model (results.model).
std::filesystem::path prepare_data(const StudyOptions& options, const Tools& tools, const Folders& folders,
                                   const Runner& runner, StudyResults& results, const Progress& progress);
void train_model(const StudyOptions& options, const Tools& tools, const Folders& folders, const Runner& runner,
                 StudyResults& results, const Progress& progress);

// optimize.cpp: memopt optimize on the baseline app; the steps it wrote and the recording
// it worked on (a sample of `recording` unless --optimize-rows 0).
struct Optimized {
    std::filesystem::path dir;
    std::filesystem::path recording;
};
Optimized run_optimize(const StudyOptions& options, const Tools& tools, const Folders& folders, const Runner& runner,
                       StudyResults& results, const Progress& progress);

// measure.cpp
struct Job {
    std::string title;          // "step 1 static-to-dynamic", "native predictor"
    int step = -1;              // -1: the native predictor
    std::vector<std::string> argv;
    std::filesystem::path cwd;
    std::filesystem::path predictions;
    std::filesystem::path dir;  // runs/NAME: its stdout/stderr per run
    std::vector<double> rss, wall;
    bool identical = true;
    std::uint64_t lines = 0;
};
std::vector<Job> plan_jobs(const StudyResults& results, const Tools& tools, const Folders& folders, const Optimized& optimized,
                           const std::filesystem::path& recording);
void measure_jobs(std::vector<Job>& jobs, int repeat, const Runner& runner, StudyResults& results, const Progress& progress);
void record_fig3(const std::vector<Job>& jobs, const Tools& tools, const Folders& folders, const Runner& runner,
                 StudyResults& results, const Progress& progress);
void count_code_lines(const Tools& tools, const Folders& folders, const Optimized& optimized, StudyResults& results,
                      const Progress& progress);

} // namespace memopt::reports::study
