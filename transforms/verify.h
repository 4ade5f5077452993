#pragma once
// The proof of the optimize loop: every run optimize makes (the reference runs of the
// baseline, each candidate's checked run and measured runs, the flags pass's trials) happens
// in one sandbox (sandbox.h) and is compared through outputs.h.
//
// The reference: the baseline is observed `reference_runs` times (default 3, at least 2) with
// PYTHONHASHSEED=1, 2, ... (unless the user's environment sets PYTHONHASHSEED; then every run
// uses the user's). It must exit 0; if its outputs differ between these runs, or it writes
// outside the sandbox, optimize stops with a message naming the output or the path - unless
// `--check CMD` says how to compare. A candidate is observed once (PYTHONHASHSEED=N+1) and
// compared against every reference run; with `--check` the check command replaces the
// comparison of stdout, files and figures (the exit status must still be the reference's)
// and runs once per reference run.
//
// Two at a time (VerifyOptions::jobs 2, docs/optimize.md "Speed"): a second copy of the
// sandbox (the twin, at another path) lets two runs go at once on two cores. Measured runs use
// both copies: a peak is the process's own, whatever runs beside it. The twin also makes the
// second reference run; when the references then differ, that run is made again in the first
// copy and the twin is used for measured runs only, since the program may show where it runs
// (a path in its stdout). Otherwise a check may run in the twin (check_two): its
// references showed the same in both copies, and a candidate that shows a difference there is
// rejected, which is the safe side.
//
// Entropy pinned (docs/optimize.md "What identical means"): when the references differ, they
// are observed again with the hook's entropy pinning (os.urandom, os.getrandom and random's
// seeding a fixed stream, outputs.h ObserveOptions::pin_entropy). If those agree, the method is
// "outputs, entropy pinned" and every check runs pinned: a candidate must show the same under
// the same random numbers from the OS. Measured runs never load the hook.
#include "transforms/outputs.h"
#include "transforms/sandbox.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace memopt::transforms {

struct VerifyOptions {
    std::string check;           // --check CMD (sh -c); "" = the built-in comparison
    bool compare_stderr = false; // --compare-stderr
    int reference_runs = 3;     // --reference-runs, at least 2
    int jobs = 1;               // --jobs: runs at a time (1 or 2; 2 makes the twin sandbox)
    SandboxLimits limits;
};

// What a candidate's "same output" rests on, for steps.json and steps.md.
struct Comparison {
    std::string method;               // "outputs", "outputs, entropy pinned", "check", "exit status only" or "varies"
    std::vector<std::string> outputs; // the reference's outputs compared ("stdout", "pred.csv", ...)
    std::string note;                 // "" or what the comparison leaves out (masked timings, or why it proves nothing)
    std::string sandbox;              // Sandbox::summary()
};

// A candidate's checked run: whether it showed what every reference run showed, and its
// peak RSS as observed (with the runtime hook: the screening measurement, docs/optimize.md).
struct Check {
    std::string difference;        // "" when identical (or the check passed against each reference)
    std::uint64_t peak_rss_bytes = 0;
    bool hooked = false;           // the runtime hook loaded (not under -I, -E, -S)
};

class Verifier {
  public:
    // The sandbox goes to `work_dir`/sandbox (work_dir is created and is optimize's scratch
    // space); `exclude` lists directories of the cwd not to copy (optimize's output).
    Verifier(const std::filesystem::path& work_dir, const std::filesystem::path& user_cwd,
             const std::vector<std::string>& args, const std::vector<std::filesystem::path>& exclude,
             VerifyOptions options);

    // Observes the baseline; throws memopt::Error (naming `what`) when it fails, varies,
    // writes outside the sandbox, or does not pass its own check.
    Comparison establish(const Program& baseline, const std::string& what);
    // "" when `candidate` shows what every reference run showed (or passes the check against
    // each), else why not.
    std::string compare(const Program& candidate) { return check(candidate).difference; }
    // The same, with the run's peak RSS (one run with the hook, like the reference runs).
    // With `measure_beside` and the twin, a measured run of the candidate goes at the same
    // time in the twin; a later measure() of the same program counts it.
    Check check(const Program& candidate, bool measure_beside = false);
    // Two candidates checked at the same time when the twin may check (can_check_two()),
    // else one after the other.
    std::pair<Check, Check> check_two(const Program& first, const Program& second);
    bool can_check_two() const { return twin_ && twin_checks_; }
    // The reference runs' median peak RSS: what a hooked run of the baseline peaks at.
    std::uint64_t reference_peak() const;
    // Whether the reference runs loaded the hook (a candidate's screening run compares with them).
    bool reference_hooked() const { return !references_.empty() && references_.front().hooked; }
    // Measured runs (no hook), each from the pristine sandbox.
    Measurement measure(const Program& program, int runs, const std::string& what);

    Sandbox& sandbox() { return *sandbox_; }
    // The sandbox and, with --jobs 2, its twin: where runs may go at the same time.
    std::vector<Sandbox*> sandboxes();
    const VerifyOptions& options() const { return options_; }

  private:
    std::string run_check(std::size_t reference) const;
    void validate_reference(const Observation& o, const std::string& what) const;
    void accept_reference(Observation o, const std::string& what);
    void observe_references(const Program& baseline, const std::string& what);
    ObserveOptions run_options(int seed) const;
    std::string settled_variation(const Program& baseline, const std::string& what, bool& timings_masked);
    Observation observe_beside_measured(const Program& program, const ObserveOptions& options);
    Check check_of(const Observation& o) const;
    std::string difference_from_references(const Observation& o) const;
    void keep_reference_outputs(std::size_t index);

    std::filesystem::path work_dir_;
    VerifyOptions options_;
    std::unique_ptr<Sandbox> sandbox_;
    std::unique_ptr<Sandbox> twin_;   // the second copy (jobs 2), or none
    bool twin_checks_ = false;        // the references showed the same in both copies
    bool pin_entropy_ = false;        // the references and checks run with the OS's entropy pinned
    std::vector<Observation> references_;
    struct Banked {                   // measured runs made beside a check, for measure()
        std::vector<std::string> program; // command line and environment: which program
        std::vector<RunOutcome> runs;
    } banked_;
};

} // namespace memopt::transforms
