#include "transforms/outputs.h"

#include "transforms/timings.h"

#include "common/error.h"
#include "common/paths.h"

#include <algorithm>
#include <cstdlib>
#include <fmt/format.h>
#include <fstream>
#include <set>
#include <openssl/evp.h>
#include <sstream>

namespace fs = std::filesystem;

namespace memopt::transforms {

namespace {

constexpr std::size_t kKeptHead = 1 << 20;

Content content_of(const fs::path& path) {
    Content c;
    std::ifstream in(path, std::ios::binary);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
    std::vector<char> buffer(1 << 16);
    while (in) {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        const auto n = static_cast<std::size_t>(in.gcount());
        EVP_DigestUpdate(ctx, buffer.data(), n);
        if (c.head.size() < kKeptHead) c.head.append(buffer.data(), std::min(n, kKeptHead - c.head.size()));
        c.size += n;
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(ctx, digest, &length);
    EVP_MD_CTX_free(ctx);
    for (unsigned int i = 0; i < length; ++i) c.sha256 += fmt::format("{:02x}", digest[i]);
    return c;
}

std::vector<std::string> lines_of(const fs::path& path) {
    std::vector<std::string> out;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) out.push_back(line);
    return out;
}

std::string tail(const std::string& text, std::size_t lines) {
    std::size_t pos = text.size();
    while (pos > 0 && text[pos - 1] == '\n') --pos;
    const std::size_t end = pos;
    for (std::size_t n = 0; n < lines && pos > 0; ++n) {
        pos = text.rfind('\n', pos - 1);
        if (pos == std::string::npos) { pos = 0; break; }
    }
    std::string out = text.substr(pos, end - pos);
    while (!out.empty() && out.front() == '\n') out.erase(out.begin());
    for (auto& c : out) if (c == '\n') c = ' ';
    return out;
}

std::string where_differs(const Content& a, const Content& b) {
    std::istringstream sa(a.head), sb(b.head);
    std::string la, lb;
    for (int line = 1;; ++line) {
        const bool ga = static_cast<bool>(std::getline(sa, la));
        const bool gb = static_cast<bool>(std::getline(sb, lb));
        if (!ga && !gb) return fmt::format("differs after its first MiB ({} vs {} bytes)", a.size, b.size);
        if (!ga || !gb || la != lb)
            return fmt::format("line {}: expected \"{}\", got \"{}\"", line, ga ? la.substr(0, 80) : "<end>",
                               gb ? lb.substr(0, 80) : "<end>");
    }
}

// Figures are outputs named by the figure and the moment; the line holds the pixels' hash
// (their texts' digits drawn as 0) or, for "figure N at WHEN text K", one such text as written.
void add_figures(Observation& o, const fs::path& records) {
    for (const auto& line : lines_of(records / "figures.txt")) {
        const auto colon = line.find(": ");
        Content c;
        c.head = c.sha256 = line.substr(colon == std::string::npos ? 0 : colon + 2);
        c.size = c.head.size();
        std::string name = line.substr(0, colon);
        for (int n = 2; o.figures.count(name); ++n) name = fmt::format("{} ({})", line.substr(0, colon), n);
        o.figures[name] = c;
    }
}

} // namespace

RunSpec sandbox_spec(const Program& program, const Sandbox& sandbox, const ObserveOptions& options) {
    RunSpec spec;
    spec.argv = command_line(program, sandbox.args());
    spec.cwd = sandbox.cwd();
    spec.env["MPLBACKEND"] = "Agg";
    spec.env["TMPDIR"] = sandbox.tmp().string();
    if (options.hash_seed && !std::getenv("PYTHONHASHSEED")) spec.env["PYTHONHASHSEED"] = *options.hash_seed;
    if (options.hook) {
        const char* pythonpath = std::getenv("PYTHONPATH");
        const fs::path hook = python_package_dir() / "memopt" / "_sandbox";
        spec.env["PYTHONPATH"] = pythonpath && *pythonpath ? hook.string() + ":" + pythonpath : hook.string();
        if (pythonpath) spec.env["MEMOPT_SANDBOX_PYTHONPATH"] = pythonpath;
        spec.env["MEMOPT_SANDBOX_RECORDS"] = sandbox.records().string();
        spec.env["MEMOPT_SANDBOX_ROOT"] = sandbox.root().string();
        if (options.block_outside) spec.env["MEMOPT_SANDBOX_BLOCK"] = "1";
        if (options.pin_entropy) spec.env["MEMOPT_SANDBOX_PIN_ENTROPY"] = "1";
        // the step's copy of the program (caches such as the tree store are written beside it)
        spec.env["MEMOPT_SANDBOX_ALLOW"] = fs::absolute(program.path).parent_path().string();
    }
    for (const auto& [k, v] : program.env) spec.env[k] = v; // the step's own settings win
    spec.stdout_file = sandbox.root() / "stdout";
    spec.stderr_file = sandbox.root() / "stderr";
    return spec;
}

namespace {

// What the run in `sandbox` showed, once it has ended.
Observation collected(const RunSpec& spec, const Sandbox& sandbox, const RunOutcome& run) {
    Observation o;
    o.run = run;
    o.status = o.run.status;
    o.out = content_of(spec.stdout_file);
    o.err = content_of(spec.stderr_file);
    o.err_tail = tail(o.err.head, 2);
    for (const FileChange& change : sandbox.changes()) {
        Content c;
        if (change.kind == FileChange::Kind::deleted) c.deleted = true;
        else c = content_of(change.path);
        o.files[change.name] = c;
    }
    o.hooked = fs::exists(sandbox.records() / "hook");
    o.outside_writes = lines_of(sandbox.records() / "outside.txt");
    add_figures(o, sandbox.records());
    return o;
}

} // namespace

Observation observe(const Program& program, Sandbox& sandbox, const ObserveOptions& options) {
    return observe_all({{&program, &sandbox, options}}).front();
}

std::vector<Observation> observe_all(const std::vector<ObserveJob>& jobs) {
    std::vector<RunSpec> specs;
    for (const ObserveJob& job : jobs) {
        job.sandbox->reset();
        specs.push_back(sandbox_spec(*job.program, *job.sandbox, job.options));
    }
    const std::vector<RunOutcome> runs = run_together(specs);
    std::vector<Observation> observations;
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        if (!jobs[i].options.hook) { // a measured run: only its status and peak count
            Observation o;
            o.run = runs[i];
            o.status = runs[i].status;
            observations.push_back(std::move(o));
        } else
            observations.push_back(collected(specs[i], *jobs[i].sandbox, runs[i]));
    }
    return observations;
}

std::set<std::string> files_beside(const Program& program) {
    std::set<std::string> names;
    std::error_code ec;
    const fs::path dir = fs::absolute(program.path).parent_path();
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
        names.insert(fs::relative(it->path(), dir, ec).string());
    return names;
}

Measurement measure_in(const Program& program, const std::vector<Sandbox*>& sandboxes, int runs, const std::string& what,
                       std::vector<RunOutcome> done) {
    ObserveOptions options;
    options.hook = false;
    bool redone = false;
    while (static_cast<int>(done.size()) < runs) {
        std::vector<ObserveJob> jobs;
        for (std::size_t i = 0; i < sandboxes.size() && static_cast<int>(done.size() + jobs.size()) < runs; ++i)
            jobs.push_back({&program, sandboxes[i], options});
        const std::set<std::string> before = files_beside(program);
        const std::vector<Observation> round = observe_all(jobs);
        // A run that wrote beside the program built a cache (the tree store, keyed by the
        // model's path in its copy): it paid a one-time cost a later run does not. Once.
        if (sandboxes.size() > 1 && !redone && files_beside(program) != before) {
            redone = true;
            continue;
        }
        for (const Observation& o : round) done.push_back(o.run);
    }
    return measurement_of(done, what);
}

std::vector<std::string> observable_outputs(const Observation& run, bool compare_stderr) {
    std::vector<std::string> names;
    if (run.out.size) names.push_back("stdout");
    if (compare_stderr && run.err.size) names.push_back("stderr");
    for (const auto& [name, content] : run.files) names.push_back(name);
    for (const auto& [name, content] : run.figures) names.push_back(name);
    return names;
}

namespace {

// Whether `actual` shows the text of `expected`: the same bytes, or, when the reference's
// timings vary, the same text with timings masked.
bool same_text(const Content& expected, const Content& actual) {
    if (actual.sha256 == expected.sha256) return true;
    return expected.timings_vary && actual.size == actual.head.size() &&
           mask_timings(expected.head) == mask_timings(actual.head);
}

// "" when both runs have the same outputs of one kind (files or figures), by name and content.
std::string same_outputs(const std::map<std::string, Content>& expected, const std::map<std::string, Content>& actual) {
    for (const auto& [name, content] : expected) {
        const auto it = actual.find(name);
        if (it == actual.end())
            return content.deleted ? fmt::format("did not delete {}", name) : fmt::format("did not write {}", name);
        if (it->second.deleted != content.deleted)
            return content.deleted ? fmt::format("wrote {} instead of deleting it", name) : fmt::format("deleted {}", name);
        if (!same_text(content, it->second)) return fmt::format("{} {}", name, where_differs(content, it->second));
    }
    for (const auto& [name, content] : actual)
        if (!expected.count(name))
            return content.deleted ? fmt::format("deleted {} (the original does not)", name)
                                   : fmt::format("wrote {} (the original does not)", name);
    return "";
}

// Whether the references' outputs (one per run, null where a run lacks it) differ, and only
// in their timings.
bool only_timings_differ(const std::vector<const Content*>& outputs) {
    bool differ = false;
    for (const Content* c : outputs) {
        if (!c || c->size != c->head.size()) return false; // missing, or beyond the kept MiB: not masked
        if (c->sha256 != outputs[0]->sha256) differ = true;
    }
    if (!differ) return false;
    const std::string first = mask_timings(outputs[0]->head);
    return std::all_of(outputs.begin() + 1, outputs.end(), [&](const Content* c) { return mask_timings(c->head) == first; });
}

// Marks one output of every reference when only its timings differ between them.
template <class Find>
bool mark_if_only_timings_differ(std::vector<Observation>& references, Find find) {
    std::vector<Content*> outputs;
    for (Observation& r : references) outputs.push_back(find(r));
    if (!only_timings_differ({outputs.begin(), outputs.end()})) return false;
    for (Content* c : outputs) c->timings_vary = true;
    return true;
}

} // namespace

bool mark_varying_timings(std::vector<Observation>& references) {
    if (references.empty()) return false;
    bool marked = false;
    for (Content Observation::*which : {&Observation::out, &Observation::err})
        marked |= mark_if_only_timings_differ(references, [which](Observation& r) { return &(r.*which); });
    // a figure's texts (a title "fit in 0.12s"): the hook draws their digits as 0 in the pixels
    for (const auto& entry : references[0].figures) {
        const std::string& name = entry.first;
        marked |= mark_if_only_timings_differ(references, [&name](Observation& r) -> Content* {
            const auto it = r.figures.find(name);
            return it == r.figures.end() ? nullptr : &it->second;
        });
    }
    return marked;
}

// Under -I, -E or -S the hook cannot load (they hide PYTHONPATH or site): the run's figures
// and writes outside are then unknown, so a reference with figures cannot be matched.
std::string difference(const Observation& expected, const Observation& actual, bool compare_stderr) {
    const bool hook_missing = expected.hooked && !actual.hooked;
    if (hook_missing && !expected.figures.empty())
        return "its figures cannot be observed (the runtime hook cannot load under -I, -E or -S)";
    if (actual.status != expected.status)
        return fmt::format("exit status {} instead of {}{}", actual.status, expected.status,
                           actual.err_tail.empty() ? "" : ": " + actual.err_tail);
    if (!same_text(expected.out, actual.out)) return "stdout " + where_differs(expected.out, actual.out);
    if (compare_stderr && !same_text(expected.err, actual.err)) return "stderr " + where_differs(expected.err, actual.err);
    if (std::string why = same_outputs(expected.files, actual.files); !why.empty()) return why;
    if (hook_missing) return "";
    if (std::string why = same_outputs(expected.figures, actual.figures); !why.empty()) return why;
    if (actual.outside_writes != expected.outside_writes)
        return fmt::format("writes outside the sandbox differ ({})",
                           actual.outside_writes.empty() ? "none" : fmt::format("{}", fmt::join(actual.outside_writes, ", ")));
    return "";
}

std::string variation(const std::vector<Observation>& references, bool compare_stderr) {
    for (std::size_t i = 1; i < references.size(); ++i) {
        const std::string why = difference(references[0], references[i], compare_stderr);
        if (!why.empty()) return fmt::format("run {} differs from run 1: {}", i + 1, why);
    }
    return "";
}

} // namespace memopt::transforms
