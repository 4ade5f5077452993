// The study's set-up: its tools, its output folders, the machine it runs on, and the small
// file and run helpers every stage uses.
#include "common/error.h"
#include "common/paths.h"
#include "examples/activity/study/pipeline.h"

#include <algorithm>
#include <fmt/format.h>
#include <fmt/std.h>
#include <fstream>
#include <sstream>
#include <sys/utsname.h>
#include <thread>
#include <unistd.h>

namespace memopt::reports::study {

namespace fs = std::filesystem;

namespace {

// What a study directory holds; --force removes only these.
const char* kStudyEntries[] = {"data", "optimize", "runs", "traces", "logs", "results.json", "results.md", "index.html"};

} // namespace

std::string read_text(const fs::path& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) throw Error(fmt::format("cannot read {}", path));
    std::ostringstream text;
    text << file.rdbuf();
    return text.str();
}

void write_text(const fs::path& path, const std::string& text) {
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file << text;
    file.close();
    if (!file) throw Error(fmt::format("cannot write {}", path));
}

std::string tail_of(const fs::path& log, std::size_t lines) {
    std::error_code ec;
    if (!fs::exists(log, ec)) return "";
    const std::string text = read_text(log);
    std::size_t pos = text.size();
    for (std::size_t n = 0; n <= lines && pos > 0; ++n) pos = text.rfind('\n', pos - 1);
    std::string tail = text.substr(pos == std::string::npos ? 0 : pos + 1);
    while (!tail.empty() && tail.back() == '\n') tail.pop_back();
    return tail;
}

std::size_t count_lines(const std::string& text) { return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')); }

RunResult Runner::must(const std::string& name, std::vector<std::string> argv, const fs::path& cwd) const {
    RunSpec spec;
    spec.argv = std::move(argv);
    spec.cwd = cwd;
    spec.env = env_;
    spec.stdout_file = logs_ / (name + ".log");
    spec.stderr_file = logs_ / (name + ".err");
    const RunResult result = run_program(spec);
    if (result.status != 0)
        throw Error(fmt::format("{} failed with status {}: {}\n{}", name, result.status, shell_words(spec.argv),
                                tail_of(*spec.stderr_file)));
    return result;
}

Tools locate_tools(const StudyOptions& options) {
    Tools tools;
    tools.memopt = options.memopt.empty() ? find_beside_self("memopt (build its target)", {"memopt"}) : options.memopt;
    tools.example = options.example_dir.empty()
                        ? find_beside_self("the activity example (examples/activity)",
                                           {"../../examples/activity", "../share/memopt/examples/activity"})
                        : options.example_dir;
    tools.native = options.native.empty()
                       ? find_beside_self("the native predictor activity_predict (build its target)", {"activity_predict"})
                       : options.native;
    tools.python = options.python;
    if (!fs::exists(tools.python)) throw Error(fmt::format("{} not found (the study needs Debian's Python)", tools.python));
    if (options.data_csv && !fs::exists(*options.data_csv)) throw Error(fmt::format("{} not found", *options.data_csv));
    if (options.repeat < 1) throw Error("--repeat must be at least 1");
    return tools;
}

void check_optimize_available(const Tools& tools, const std::map<std::string, std::string>& env) {
    RunSpec check;
    check.argv = {tools.memopt.string(), "optimize", "--help"};
    check.env = env;
    check.stdout_file = fs::temp_directory_path() / fmt::format("memopt-study-{}.help", ::getpid());
    check.stderr_file = *check.stdout_file;
    const RunResult result = run_program(check);
    const std::string help = read_text(*check.stdout_file);
    fs::remove(*check.stdout_file);
    if (result.status == 0 && help.find("not implemented") == std::string::npos) return;
    const std::string why = help.substr(0, help.find('\n'));
    throw Error(fmt::format("memopt optimize is unavailable ({}): the study needs the real passes to make each "
                            "step's program, and makes none up",
                            why.empty() ? fmt::format("status {}", result.status) : why));
}

Folders prepare_folders(const fs::path& out_dir, bool force) {
    const fs::path out = fs::absolute(out_dir).lexically_normal();
    std::error_code ec;
    if (fs::exists(out, ec)) {
        if (!fs::is_directory(out, ec)) throw Error(fmt::format("{} exists and is not a directory", out));
        if (!fs::is_empty(out, ec)) {
            if (!force) throw Error(fmt::format("{} is not empty (use --force to replace a previous study there)", out));
            for (const char* entry : kStudyEntries) fs::remove_all(out / entry, ec);
        }
    }
    fs::create_directories(out, ec);
    if (ec) throw Error(fmt::format("cannot create {}: {}", out, ec.message()));
    const Folders folders{out, out / "data", out / "logs", out / "runs", out / "traces"};
    for (const auto& dir : {folders.data, folders.logs, folders.runs, folders.traces}) fs::create_directories(dir);
    return folders;
}

std::string describe_machine(const Runner& runner, const std::string& python) {
    utsname name{};
    ::uname(&name);
    runner.must("python-version", {python, "-c", "import sys, numpy, sklearn, pandas; print(sys.version.split()[0], "
                                                 "'numpy', numpy.__version__, 'scikit-learn', sklearn.__version__, "
                                                 "'pandas', pandas.__version__)"});
    std::string versions = read_text(runner.logs() / "python-version.log");
    while (!versions.empty() && versions.back() == '\n') versions.pop_back();
    return fmt::format("{} cores, {} {} {}, Python {}", std::thread::hardware_concurrency(), name.sysname, name.release,
                       name.machine, versions);
}

} // namespace memopt::reports::study
