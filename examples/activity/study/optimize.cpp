// The study's steps: `memopt optimize app.py` on (a sample of) the recording, with the real
// passes; or an earlier optimize output given with --optimized.
#include "common/error.h"
#include "examples/activity/study/pipeline.h"

#include <fmt/format.h>
#include <fmt/std.h>
#include <fstream>

namespace memopt::reports::study {

namespace fs = std::filesystem;

namespace {

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

Optimized run_optimize(const StudyOptions& options, const Tools& tools, const Folders& folders, const Runner& runner,
                       StudyResults& results, const Progress& progress) {
    const fs::path recording = folders.data / "recording.csv";
    if (options.optimized_dir) {
        progress(fmt::format("optimize: reusing {}", fs::absolute(*options.optimized_dir)));
        return {fs::absolute(*options.optimized_dir), recording};
    }
    const bool sampled = options.optimize_rows > 0 && options.optimize_rows < results.rows;
    const Optimized optimized{folders.out / "optimize", sampled ? folders.data / "optimize-sample.csv" : recording};
    if (sampled) {
        write_sample(recording, optimized.recording, options.optimize_rows);
        results.notes.push_back(fmt::format("memopt optimize chose the steps on the first {} rows of the recording "
                                            "(--optimize-rows); every step was measured on all {} rows.",
                                            options.optimize_rows, results.rows));
    }
    progress(fmt::format("optimize: memopt optimize app.py on {} rows (probe, then each pass in the paper's order; "
                         "its progress follows)", sampled ? options.optimize_rows : results.rows));
    std::vector<std::string> argv = {tools.memopt.string(), "optimize", (tools.example / "app.py").string(), "-o",
                                     optimized.dir.string()};
    if (options.threshold_mb) argv.insert(argv.end(), {"--threshold-mb", fmt::format("{}", *options.threshold_mb)});
    argv.insert(argv.end(), {"--", optimized.recording.string(), (folders.data / "model.joblib").string(), "predictions.csv"});
    RunSpec spec;
    spec.argv = argv;
    spec.cwd = folders.out;
    spec.env = runner.env();
    spec.stdout_file = folders.logs / "optimize.log"; // its stderr (progress) goes to ours
    const RunResult result = run_program(spec);
    // Status 1: the threshold was not met, but the steps were written.
    if (result.status != 0 && !(result.status == 1 && fs::exists(optimized.dir / "steps.json")))
        throw Error(fmt::format("memopt optimize failed with status {} (see {}): {}", result.status, folders.logs / "optimize.log",
                                shell_words(argv)));
    if (result.status == 1) results.notes.push_back("memopt optimize did not reach --threshold-mb.");
    return optimized;
}

} // namespace memopt::reports::study
