#include "transforms/measure.h"

#include "common/error.h"
#include "common/runner.h"

#include <algorithm>
#include <memory>
#include <fmt/format.h>

namespace memopt::transforms {

namespace {

runner::Redirect output(const std::filesystem::path& path) {
    return path.empty() ? runner::Redirect::null() : runner::Redirect::file(path);
}

RunTally g_tally; // one optimize or transform per process; runs are started and reaped by one thread

template <typename T> T median(std::vector<T> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

} // namespace

namespace {

runner::Command command_of(const RunSpec& spec) {
    runner::Command command;
    command.argv = spec.argv;
    command.cwd = spec.cwd;
    command.env = spec.env;
    command.in = runner::Redirect::null();
    command.out = output(spec.stdout_file);
    command.err = output(spec.stderr_file);
    return command;
}

RunOutcome outcome_of(const RunSpec& spec, const runner::Outcome& outcome) {
    RunOutcome result;
    result.status = outcome.status();
    result.max_rss_kib = static_cast<long>(outcome.peak_rss_bytes / 1024);
    result.wall_s = outcome.wall_s;
    if (spec.tallied) {
        ++g_tally.runs;
        g_tally.wall_s += outcome.wall_s;
    }
    return result;
}

} // namespace

RunOutcome run_once(const RunSpec& spec) { return run_together({spec}).front(); }

std::vector<RunOutcome> run_together(const std::vector<RunSpec>& specs) {
    // All are started before any is waited for; each is its own process, so each peak is its
    // own (ru_maxrss from wait4 of that process). No output is captured: nothing can block.
    std::vector<std::unique_ptr<runner::Process>> started;
    for (const RunSpec& spec : specs) started.push_back(std::make_unique<runner::Process>(command_of(spec)));
    std::vector<RunOutcome> outcomes;
    for (std::size_t i = 0; i < specs.size(); ++i) outcomes.push_back(outcome_of(specs[i], started[i]->reap()));
    if (std::any_of(specs.begin(), specs.end(), [](const RunSpec& s) { return s.tallied; })) ++g_tally.rounds;
    return outcomes;
}

RunTally run_tally() { return g_tally; }

Measurement measurement_of(const std::vector<RunOutcome>& runs, const std::string& what) {
    Measurement m;
    for (std::size_t i = 0; i < runs.size(); ++i) {
        if (runs[i].status != 0)
            throw Error(fmt::format("{} exited with status {} in measured run {}", what, runs[i].status, i + 1));
        m.peak_rss_runs.push_back(static_cast<std::uint64_t>(runs[i].max_rss_kib) * 1024);
        m.wall_runs.push_back(runs[i].wall_s);
    }
    m.peak_rss_bytes = median(m.peak_rss_runs);
    m.wall_s = median(m.wall_runs);
    return m;
}

Measurement measure(const RunSpec& spec, int runs, const std::string& what) {
    std::vector<RunOutcome> done;
    for (int i = 0; i < runs && (done.empty() || done.back().status == 0); ++i) done.push_back(run_once(spec));
    return measurement_of(done, what);
}

} // namespace memopt::transforms
