#include "examples/activity/study/process.h"

#include "common/runner.h"

#include <unistd.h>

namespace memopt::reports::study {

// The study's runs go through the product's one runner (common/runner.h): its peak RSS is
// the program's own ru_maxrss, never a copy of this process, so no /usr/bin/time is needed.
RunResult run_program(const RunSpec& spec) {
    runner::Command command;
    command.argv = spec.argv;
    command.cwd = spec.cwd;
    command.env = spec.env;
    if (spec.stdout_file) command.out = runner::Redirect::file(*spec.stdout_file);
    else if (spec.stdout_to_stderr) command.out = runner::Redirect::descriptor(STDERR_FILENO);
    if (spec.stderr_file) command.err = runner::Redirect::file(*spec.stderr_file);
    const runner::Outcome outcome = runner::run(command);
    return {outcome.status(), outcome.wall_s, outcome.peak_rss_bytes};
}

std::string shell_words(const std::vector<std::string>& argv) { return runner::shell_words(argv); }

} // namespace memopt::reports::study
