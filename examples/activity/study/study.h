#pragma once
// The paper experiment (activity_study, run by scripts/study.sh): the paper's evaluation
// (Figures 2, 3, 4 and Table I) reproduced on this machine, the paper's numbers beside ours.
// The charts are the per-step report's (reports/steps); this adds what is the paper's own:
// data, training, every step re-measured on the whole recording with its predictions
// checked, the native predictor (Table I), lines of code. docs/study.md explains it.
#include "reports/steps/report.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace memopt::reports::study {

inline constexpr const char* kStudySchema = "memopt.study/1";
inline constexpr std::size_t kPaperRows = 197633; // 1544 blocks of 128 samples

struct StudyOptions {
    std::filesystem::path out_dir = "study-out";
    bool force = false;
    std::optional<std::filesystem::path> data_csv; // ours (with header) or UCI layout
    std::size_t rows = kPaperRows;                 // generated recording (the paper's size)
    std::optional<std::size_t> train_rows;         // train.py's default when empty
    std::optional<int> trees;                      // 20 (the paper) when empty
    int repeat = 3;
    // Reuse an existing `memopt optimize` output directory instead of running optimize.
    std::optional<std::filesystem::path> optimized_dir;
    std::optional<double> threshold_mb;
    // memopt optimize chooses the steps on the first N rows of the recording (0: all of
    // them); every step is then measured on the whole recording.
    std::size_t optimize_rows = 20000;
    // Tools; found beside the activity_study executable when empty.
    std::filesystem::path memopt;
    std::filesystem::path example_dir; // examples/activity
    std::filesystem::path native;      // activity_predict
    std::string python = "/usr/bin/python3";
};

struct Stat {
    double median = 0, min = 0, max = 0;
    std::vector<double> runs;
};
Stat make_stat(std::vector<double> runs);
Stat peak_rss_stat(const steps::Step& step); // of the study's runs of an accepted step
Stat wall_stat(const steps::Step& step);

// What the study checked of one program beyond its memory and time.
struct Check {
    bool predictions_identical = false;
    std::uint64_t predictions = 0; // lines of the predictions file (without the header)
    int loc = 0;                   // cloc code lines
};

struct NativeResult {
    std::string program;
    Stat peak_rss_bytes;
    Stat wall_s;
    Check check;
};

struct StudyResults {
    std::string created;       // ISO time
    std::string machine;       // "N cores, kernel, python version"
    std::string data_source;   // "generated, N rows, seed 1" or the CSV path
    std::size_t rows = 0;
    std::size_t blocks = 0;
    int repeat = 0;
    std::string model;         // model.json contents, one line
    double duration_s = 0;
    // optimize's steps.json; each accepted step carries the study's own runs on the whole
    // recording (peak_rss_runs, wall_runs and their medians), not optimize's.
    steps::Steps steps;
    std::map<int, Check> checks; // by step number, for the accepted steps
    NativeResult native;
    bool predictions_identical = false;
    std::vector<steps::Timeline> fig3; // baseline, first accepted step (static-to-dynamic)
    std::vector<std::string> notes;
};

// Runs the whole study and writes OUT_DIR/results.json, results.md and index.html.
// `progress` receives one line per stage. Throws memopt::Error on any failure (a missing
// tool, a failing step, `memopt optimize` unavailable).
StudyResults run_study(const StudyOptions& options, const std::function<void(const std::string&)>& progress);

// The three outputs, from results (also used by tests with made-up results).
nlohmann::json results_to_json(const StudyResults& results);
std::string results_to_markdown(const StudyResults& results);
std::string results_to_html(const StudyResults& results);
// Short readings of where ours differ from the paper's, computed from the results.
std::vector<std::string> readings(const StudyResults& results);

// The rows the figures and tables show (reports/steps' choice: each step once, in order),
// titled as the paper's steps.
std::vector<steps::Row> study_rows(const StudyResults& results);
// The accepted ones among them, baseline first.
std::vector<const steps::Step*> accepted_steps(const StudyResults& results);
const Check& check_of(const StudyResults& results, const steps::Step& step);

} // namespace memopt::reports::study
