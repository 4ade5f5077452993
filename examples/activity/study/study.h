#pragma once
// `memopt study`: the paper's evaluation (Figures 2, 3, 4 and Table I) reproduced on this
// machine, with the paper's numbers beside ours. docs/study.md explains the pipeline.
#include "reports/analysis/summary.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace memopt::reports::study {

inline constexpr const char* kStudySchema = "memopt.study/1";

struct StudyOptions {
    std::filesystem::path out_dir = "study-out";
    bool force = false;
    std::optional<std::filesystem::path> data_csv; // ours (with header) or UCI layout
    std::size_t rows = 197633;                     // generated recording (the paper's size)
    std::optional<std::size_t> train_rows;         // train.py's default when empty
    std::optional<int> trees;                      // 20 (the paper) when empty
    int repeat = 3;
    // Reuse an existing `memopt optimize` output directory instead of running optimize.
    std::optional<std::filesystem::path> optimized_dir;
    std::optional<double> threshold_mb;
    // memopt optimize chooses the steps on the first N rows of the recording (0: all of
    // them); every step is then measured on the whole recording.
    std::size_t optimize_rows = 20000;
    // Tools; found beside the memopt executable when empty.
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

struct StepResult {
    int step = 0;
    std::string pass;
    std::string program;
    bool accepted = false;
    std::string reason;
    std::vector<std::string> changes;
    std::vector<std::string> command;
    Stat peak_rss_bytes;
    Stat wall_s;
    bool predictions_identical = false;
    std::uint64_t predictions = 0; // lines in predictions.csv (without the header)
    int loc = 0;
};

struct Timeline {
    std::string label;
    std::string pass;
    double duration_s = 0;
    std::uint64_t peak_rss_bytes = 0;
    std::vector<TimelinePoint> points;
    std::vector<PhaseSummary> phases;
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
    std::vector<StepResult> steps; // every step optimize tried, baseline first
    StepResult native;             // the native predictor (pass "native")
    int native_loc = 0;
    bool predictions_identical = false;
    std::vector<Timeline> fig3;    // baseline, static-to-dynamic
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

// The steps the figures show: the accepted ones, in order.
std::vector<const StepResult*> accepted_steps(const StudyResults& results);

} // namespace memopt::reports::study
