// memopt transform: runs one pass (memopt::transforms, transforms/*.cpp) on a script.
#include "cli/commands.h"
#include "cli/options.h"
#include "common/error.h"
#include "transforms/passes.h"

#include <fmt/format.h>
#include <fmt/std.h>

namespace fs = std::filesystem;

namespace memopt::cli {

namespace {

constexpr const char* kUsage =
    "memopt transform --pass static-to-dynamic|dead-data|flatten|flags SCRIPT.py [-o OUT_DIR]\n"
    "                 [--profile PROFILE] [--runs N] [-- ARGS...]\n\n"
    "Writes a transformed copy of SCRIPT.py (and the files it needs) into OUT_DIR, never\n"
    "touching the input, and prints what changed. OUT_DIR defaults to SCRIPT.PASS/ beside the\n"
    "script (SCRIPT.PASS-2/ ... when that exists). The flags pass runs the script with ARGS to\n"
    "measure each option. A pass that cannot apply safely says why and writes nothing.";

fs::path fresh_dir(const fs::path& script, const std::string& pass) {
    const fs::path base = script.parent_path() / (script.stem().string() + "." + pass);
    if (!fs::exists(base)) return base;
    for (int i = 2;; ++i) {
        fs::path candidate = base.string() + "-" + std::to_string(i);
        if (!fs::exists(candidate)) return candidate;
    }
}

} // namespace

int run_transform(const Args& args) {
    const SplitScript split = split_script(args, {"--pass", "-o", "--output", "--profile", "--runs"});
    const Args& opts = split.options;
    const Args& program_args = split.script_args;
    const std::string& script = split.script;
    std::string pass, output, profile;
    int runs = 3;
    po::options_description desc("options");
    desc.add_options()
        ("pass", po::value(&pass), "static-to-dynamic, dead-data, flatten or flags")
        ("output,o", po::value(&output), "directory to write (must not exist or be empty)")
        ("profile", po::value(&profile), "memopt.profile/1 JSON from `memopt probe` (optional)")
        ("runs", po::value(&runs)->default_value(3), "flags: measured runs per option");
    po::variables_map vm;
    if (!parse_options(opts, "transform", kUsage, desc, {}, vm)) return 0;
    if (pass.empty()) throw Error("--pass is required (static-to-dynamic, dead-data, flatten, flags)");
    if (script.empty()) throw Error("no script given (usage: memopt transform --pass PASS SCRIPT.py)");
    if (!fs::is_regular_file(script)) throw Error(fmt::format("{}: no such file", script));
    transforms::PassInput input;
    input.program.path = fs::absolute(script);
    input.args = transforms::resolve_args(program_args);
    input.out_dir = output.empty() ? fresh_dir(input.program.path, pass) : fs::absolute(output);
    if (fs::exists(input.out_dir) && !fs::is_empty(input.out_dir))
        throw Error(fmt::format("{}: exists and is not empty (choose another -o)", input.out_dir));
    if (fs::equivalent(input.out_dir.parent_path(), input.program.path.parent_path()) &&
        input.out_dir.filename() == input.program.path.filename())
        throw Error("the output directory would replace the script");
    if (!profile.empty()) input.profile = fs::path(profile);
    input.runs = runs;
    input.work_dir = input.out_dir.string() + ".runs";
    input.progress = [](const std::string& text) { fmt::print(stderr, "{}\n", text); };
    const transforms::PassReport report = transforms::run_pass(pass, input);
    fs::remove_all(input.work_dir);
    if (!report.applied) {
        fs::remove_all(input.out_dir);
        fmt::print("memopt transform: {}: not applied: {}\n", pass, report.reason);
        return 0;
    }
    fmt::print("memopt transform: {}: wrote {}\n", pass, report.program.path);
    for (const auto& c : report.changes) fmt::print("  - {}\n", c);
    return 0;
}

} // namespace memopt::cli
