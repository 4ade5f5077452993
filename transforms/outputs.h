#pragma once
// What a run of a program shows the world, and whether two runs show the same: its exit
// status, stdout (stderr only on request), every file it created, changed or deleted in its
// sandbox (by content), every matplotlib figure it had open at pyplot.show() and at exit
// (rendered pixels, recorded by python/memopt/_sandbox/sitecustomize.py), and the paths it
// wrote outside the sandbox (which makes the run unprovable, see outside_writes).
#include "transforms/differential.h"
#include "transforms/measure.h"
#include "transforms/sandbox.h"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace memopt::transforms {

// Bytes of one output, compared by SHA-256; the first MiB is kept to say where it differs.
struct Content {
    std::string sha256;
    std::uintmax_t size = 0;
    std::string head;
    bool deleted = false;
    // Set on the reference runs' stdout/stderr, or one text of a figure, when they differ only
    // in timings (timings.h): such an output is then compared with its timings masked.
    bool timings_vary = false;
};

struct Observation {
    int status = -1;
    Content out, err;
    std::string err_tail;                  // last lines of stderr, for messages
    std::map<std::string, Content> files;  // "pred.csv", "/abs/out.csv" (as named), ...
    std::map<std::string, Content> figures; // "figure 1 at plt.show() call 1", "figure 2 at exit"
    std::vector<std::string> outside_writes;
    bool hooked = false;                   // the runtime hook ran (not under -I, -E, -S)
    RunOutcome run;
};

struct ObserveOptions {
    std::optional<std::string> hash_seed; // PYTHONHASHSEED (ignored when the user set one)
    bool hook = true;                     // load the runtime hook (observed runs; not measured ones)
    bool block_outside = false;           // the hook makes writes outside the sandbox fail
    bool pin_entropy = false;             // the hook makes the OS's entropy a fixed stream (with hook only)
};

// The run's command and environment in `sandbox` (reset first by the callers below).
RunSpec sandbox_spec(const Program& program, const Sandbox& sandbox, const ObserveOptions& options);

// Resets the sandbox, runs the program once in it and collects what it showed.
Observation observe(const Program& program, Sandbox& sandbox, const ObserveOptions& options = {});

// Several runs at the same time, each in its own sandbox (reset first); the observations in
// order. A run without the hook (a measured run) gives only its status and RunOutcome.
struct ObserveJob {
    const Program* program;
    Sandbox* sandbox;
    ObserveOptions options;
};
std::vector<Observation> observe_all(const std::vector<ObserveJob>& jobs);

// `runs` measured runs without the hook, as many at a time as there are sandboxes (each reset
// before its run), after the runs `done` already made (medians as in measure()); throws
// memopt::Error naming `what` when a run fails.
// With two sandboxes, a round of runs that wrote beside the program (a cache built in one
// copy) is made again, once.
Measurement measure_in(const Program& program, const std::vector<Sandbox*>& sandboxes, int runs, const std::string& what,
                       std::vector<RunOutcome> done = {});

// The names of the files and directories in the program's directory, recursively.
std::set<std::string> files_beside(const Program& program);

// The names of the outputs beyond the exit status ("stdout", "pred.csv", "figure 1 ...");
// empty: the program shows nothing a comparison could check.
std::vector<std::string> observable_outputs(const Observation& run, bool compare_stderr);

// "" when `actual` shows what `expected` shows, else the first difference, naming the output
// ("stdout line 3: expected ..., got ...", "pred.csv: line 1 ...", "did not write out.csv").
std::string difference(const Observation& expected, const Observation& actual, bool compare_stderr);

// Marks the references' stdout, stderr and figure texts `timings_vary` when they differ
// between the runs only in the timings they show (timings.h; the whole output within the
// kept first MiB).
// Returns whether it marked any.
bool mark_varying_timings(std::vector<Observation>& references);

// "" when every reference run shows the same; else which output varies between which runs.
std::string variation(const std::vector<Observation>& references, bool compare_stderr);

} // namespace memopt::transforms
