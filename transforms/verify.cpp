#include "transforms/verify.h"

#include "common/error.h"

#include <algorithm>
#include <cstdlib>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace memopt::transforms {

namespace {

std::string last_line(const fs::path& path) {
    std::ifstream in(path);
    std::string line, last;
    while (std::getline(in, line))
        if (!line.empty()) last = line;
    return last;
}

std::string seeds_used(int runs) {
    if (std::getenv("PYTHONHASHSEED")) return "PYTHONHASHSEED set by you";
    std::string out = "PYTHONHASHSEED=1";
    for (int i = 2; i <= runs; ++i) out += fmt::format(", {}", i);
    return out;
}

// A second copy costs its bytes again and the time to copy them; above this the runs go one
// at a time.
constexpr std::uintmax_t kTwinMaxBytes = std::uintmax_t{64} << 20;

std::vector<std::string> program_key(const Program& program) {
    std::vector<std::string> key = command_line(program, {});
    for (const auto& [k, v] : program.env) key.push_back(k + "=" + v);
    return key;
}

ObserveOptions reference_options(int seed, bool block_outside, bool pin_entropy) {
    ObserveOptions o;
    o.hash_seed = std::to_string(seed);
    o.block_outside = block_outside;
    o.pin_entropy = pin_entropy;
    return o;
}

ObserveOptions measured_options() {
    ObserveOptions o;
    o.hook = false;
    return o;
}

void clear_timing_marks(std::vector<Observation>& references) {
    for (Observation& o : references) {
        o.out.timings_vary = o.err.timings_vary = false;
        for (auto& figure : o.figures) figure.second.timings_vary = false;
    }
}

} // namespace

Verifier::Verifier(const fs::path& work_dir, const fs::path& user_cwd, const std::vector<std::string>& args,
                   const std::vector<fs::path>& exclude, VerifyOptions options)
    : work_dir_(fs::absolute(work_dir)), options_(std::move(options)) {
    if (options_.reference_runs < 2) throw Error("the reference must run at least twice (--reference-runs)");
    fs::create_directories(work_dir_);
    sandbox_ = std::make_unique<Sandbox>(work_dir_ / "sandbox", user_cwd, args, exclude, options_.limits);
    if (options_.jobs >= 2 && sandbox_->bytes() <= kTwinMaxBytes)
        twin_ = std::make_unique<Sandbox>(work_dir_ / "sandbox-2", user_cwd, args, exclude, options_.limits);
}

std::vector<Sandbox*> Verifier::sandboxes() {
    std::vector<Sandbox*> all{sandbox_.get()};
    if (twin_) all.push_back(twin_.get());
    return all;
}

// A reference run must exit 0 and write nothing outside the sandbox (unless --check).
void Verifier::validate_reference(const Observation& o, const std::string& what) const {
    if (!o.outside_writes.empty() && options_.check.empty())
        throw Error(fmt::format("{} writes outside its sandbox ({}): optimize can neither keep that file untouched nor "
                                "compare it (the write was blocked); give --check CMD to optimize it anyway (its runs "
                                "then write there)",
                                what, fmt::join(o.outside_writes, ", ")));
    if (o.status != 0)
        throw Error(fmt::format("{} exited with status {} in the baseline run{}", what, o.status,
                                o.err_tail.empty() ? "" : ": " + o.err_tail));
}

void Verifier::accept_reference(Observation o, const std::string& what) {
    validate_reference(o, what);
    references_.push_back(std::move(o));
    if (!options_.check.empty()) {
        keep_reference_outputs(references_.size() - 1);
        const std::string why = run_check(0);
        if (!why.empty()) throw Error("the baseline does not pass its own check: " + why);
    }
}

// The reference runs: one after the other in the sandbox; with the twin (and no --check,
// whose command reads the first copy), the second in the twin beside the first, and each
// later one beside a measured run of the baseline in the twin.
void Verifier::observe_references(const Program& baseline, const std::string& what) {
    references_.clear();
    twin_checks_ = false;
    const bool block = options_.check.empty();
    if (!twin_ || !block) {
        for (int i = 1; i <= options_.reference_runs; ++i)
            accept_reference(observe(baseline, *sandbox_, run_options(i)), what);
        return;
    }
    std::vector<Observation> two =
        observe_all({{&baseline, sandbox_.get(), run_options(1)}, {&baseline, twin_.get(), run_options(2)}});
    accept_reference(std::move(two[0]), what);
    accept_reference(std::move(two[1]), what);
    for (int i = 3; i <= options_.reference_runs; ++i)
        accept_reference(observe_beside_measured(baseline, run_options(i)), what);
    twin_checks_ = true;
}

// An observed run with hash seed `seed`, as every reference and check run goes.
ObserveOptions Verifier::run_options(int seed) const {
    return reference_options(seed, options_.check.empty(), pin_entropy_);
}

// How the reference runs differ ("" when they agree), their printed timings masked; when the
// twin's run differs it may differ only by where it ran: it is made again in the first copy,
// and the twin no longer checks.
std::string Verifier::settled_variation(const Program& baseline, const std::string& what, bool& timings_masked) {
    timings_masked = mark_varying_timings(references_);
    std::string varies = variation(references_, options_.compare_stderr);
    if (varies.empty() || !twin_checks_) return varies;
    twin_checks_ = false;
    clear_timing_marks(references_);
    references_[1] = observe(baseline, *sandbox_, run_options(2));
    validate_reference(references_[1], what);
    timings_masked = mark_varying_timings(references_);
    return variation(references_, options_.compare_stderr);
}

// `program` observed in the sandbox while one measured run of it goes in the twin; that run
// is banked for measure() (added to what is banked of the same program), unless it wrote
// beside the program: then it built a cache and paid a one-time cost (outputs.h).
Observation Verifier::observe_beside_measured(const Program& program, const ObserveOptions& options) {
    const std::set<std::string> before = files_beside(program);
    std::vector<Observation> pair = observe_all({{&program, sandbox_.get(), options}, {&program, twin_.get(), measured_options()}});
    if (banked_.program != program_key(program)) banked_ = {program_key(program), {}};
    if (files_beside(program) == before) banked_.runs.push_back(pair[1].run);
    return std::move(pair[0]);
}

Comparison Verifier::establish(const Program& baseline, const std::string& what) {
    banked_ = {};
    pin_entropy_ = false;
    observe_references(baseline, what);
    Comparison c;
    c.sandbox = sandbox_->summary();
    if (!options_.check.empty()) {
        c.method = "check";
        return c;
    }
    bool timings_masked = false;
    const std::string varies = settled_variation(baseline, what, timings_masked);
    std::string pinned_varies;
    if (!varies.empty()) {
        // Perhaps only the random numbers it draws from the OS differ: the references again,
        // with the OS's entropy pinned (and every later run of a candidate pinned too).
        pin_entropy_ = true;
        observe_references(baseline, what);
        pinned_varies = settled_variation(baseline, what, timings_masked);
        if (!pinned_varies.empty()) pin_entropy_ = false;
    }
    if (!pinned_varies.empty()) {
        // not an error: optimize keeps the program as it is and says why (exit status 0)
        c.method = "varies";
        c.note = fmt::format("{}'s output varies between runs ({}; {}), and also with the OS's entropy pinned ({}): "
                             "entropy pinning did not make it deterministic (it may depend on time, thread timing, "
                             "memory addresses or entropy read by C code); no rewrite of it can be proven to behave "
                             "the same, so none is tried; give --check CMD to say how to compare",
                             what, varies, seeds_used(options_.reference_runs), pinned_varies);
        return c;
    }
    c.outputs = observable_outputs(references_.front(), options_.compare_stderr);
    c.method = c.outputs.empty() ? "exit status only" : pin_entropy_ ? "outputs, entropy pinned" : "outputs";
    std::vector<std::string> notes;
    if (pin_entropy_)
        notes.push_back(fmt::format(
            "{}'s output varies between runs ({}) through the random numbers it draws from the OS: with the OS's entropy "
            "pinned (os.urandom, os.getrandom and random's seeding made a fixed stream; numpy's unseeded generators "
            "follow) its reference runs agree, and every candidate runs pinned too. Proven: under the same random "
            "numbers from the OS, the candidate's outputs are byte-identical to the original's (across hash seeds); "
            "a rewrite that changes how many random numbers are drawn, or in which order, is rejected",
            what, varies));
    if (timings_masked)
        notes.push_back("the timings the program prints (numbers with a time unit, and the numbers of lines saying "
                        "time/took/elapsed/duration/done in) differ between its own runs: they are masked, the rest of "
                        "its output is compared byte for byte");
    c.note = fmt::format("{}", fmt::join(notes, "; "));
    if (c.outputs.empty())
        c.note = "the program shows no output (no stdout, no file written or deleted, no figure): candidates are "
                 "compared by their exit status only and are not proven identical; give --check CMD to say what to compare";
    return c;
}

Check Verifier::check_of(const Observation& o) const {
    Check c;
    c.peak_rss_bytes = static_cast<std::uint64_t>(o.run.max_rss_kib) * 1024;
    c.hooked = o.hooked;
    c.difference = difference_from_references(o);
    return c;
}

Check Verifier::check(const Program& candidate, bool measure_beside) {
    if (references_.empty()) throw Error("internal: check() before establish()");
    const ObserveOptions options = run_options(options_.reference_runs + 1);
    if (!twin_ || !measure_beside) return check_of(observe(candidate, *sandbox_, options));
    banked_ = {};
    return check_of(observe_beside_measured(candidate, options));
}

std::pair<Check, Check> Verifier::check_two(const Program& first, const Program& second) {
    if (!can_check_two()) return {check(first), check(second)};
    const ObserveOptions options = run_options(options_.reference_runs + 1);
    const std::vector<Observation> pair = observe_all({{&first, sandbox_.get(), options}, {&second, twin_.get(), options}});
    return {check_of(pair[0]), check_of(pair[1])};
}

std::uint64_t Verifier::reference_peak() const {
    std::vector<std::uint64_t> peaks;
    for (const Observation& o : references_) peaks.push_back(static_cast<std::uint64_t>(o.run.max_rss_kib) * 1024);
    if (peaks.empty()) return 0;
    std::sort(peaks.begin(), peaks.end());
    return peaks[peaks.size() / 2];
}

std::string Verifier::difference_from_references(const Observation& o) const {
    if (!options_.check.empty()) {
        if (o.status != references_.front().status)
            return fmt::format("exit status {} instead of {}{}", o.status, references_.front().status,
                               o.err_tail.empty() ? "" : ": " + o.err_tail);
        for (std::size_t k = 0; k < references_.size(); ++k) {
            const std::string why = run_check(k);
            if (!why.empty()) return references_.size() > 1 ? fmt::format("{} (reference run {})", why, k + 1) : why;
        }
        return "";
    }
    for (std::size_t k = 0; k < references_.size(); ++k) {
        const std::string why = difference(references_[k], o, options_.compare_stderr);
        if (!why.empty()) return k == 0 ? why : fmt::format("{} (against reference run {})", why, k + 1);
    }
    return "";
}

Measurement Verifier::measure(const Program& program, int runs, const std::string& what) {
    std::vector<RunOutcome> done;
    if (banked_.program == program_key(program))
        for (const RunOutcome& r : banked_.runs)
            if (r.status == 0 && static_cast<int>(done.size()) < runs) done.push_back(r); // a failed one is made again here
    banked_ = {};
    return measure_in(program, sandboxes(), runs, what, std::move(done));
}

// The check sees the run's directory and stdout, and one reference run's outputs.
std::string Verifier::run_check(std::size_t reference) const {
    const fs::path ref = work_dir_ / fmt::format("reference-{}", reference + 1);
    RunSpec spec;
    spec.argv = {"/bin/sh", "-c", options_.check};
    spec.cwd = sandbox_->cwd();
    spec.env["MEMOPT_RUN_DIR"] = sandbox_->cwd().string();
    spec.env["MEMOPT_STDOUT"] = (sandbox_->root() / "stdout").string();
    spec.env["MEMOPT_REFERENCE_DIR"] = (ref / "files").string();
    spec.env["MEMOPT_REFERENCE_STDOUT"] = (ref / "stdout").string();
    spec.stderr_file = work_dir_ / "check.err";
    const int status = run_once(spec).status;
    if (status == 0) return "";
    const std::string why = last_line(spec.stderr_file);
    return fmt::format("--check command failed with status {}{}", status, why.empty() ? "" : ": " + why);
}

// Copies what reference run `index` wrote (its stdout, the files it created or changed)
// out of the sandbox, for the check of later runs: MEMOPT_REFERENCE_DIR/NAME.
void Verifier::keep_reference_outputs(std::size_t index) {
    const fs::path ref = work_dir_ / fmt::format("reference-{}", index + 1);
    fs::remove_all(ref);
    fs::create_directories(ref / "files");
    fs::copy_file(sandbox_->root() / "stdout", ref / "stdout");
    for (const FileChange& change : sandbox_->changes()) {
        if (change.kind == FileChange::Kind::deleted) continue;
        const fs::path target = ref / "files" / fs::path(change.name).relative_path();
        fs::create_directories(target.parent_path());
        fs::copy(change.path, target, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    }
}

} // namespace memopt::transforms
