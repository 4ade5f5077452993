// memopt transform: runs one pass of the pass table (transforms/pass_table.h) on a script.
#include "cli/commands.h"
#include "cli/options.h"
#include "common/error.h"
#include "transforms/pass_table.h"
#include "transforms/passes.h"
#include "transforms/output_dir.h"

#include <fmt/format.h>
#include <fmt/std.h>

namespace fs = std::filesystem;

namespace memopt::cli {

namespace {

// The pass names come from the pass table, never typed here.
CommandHelp transform_help() {
    return {"transform", "SCRIPT.py [-- ARG...]",
            "Write a transformed copy of SCRIPT.py (and the files it needs) into DIR, never\n"
            "touching the input, and print what changed. DIR defaults to SCRIPT.PASS/ beside the\n"
            "script (SCRIPT.PASS-2/ ... when that exists); its parent must exist. A launcher pass runs\n"
            "the script with ARGs to measure each option. A pass that cannot apply safely says why and\n"
            "writes nothing.\n\n"
            "Passes (--pass " + fmt::format("{}", fmt::join(transforms::pass_names(), "|")) + "):\n" +
                transforms::describe_passes(),
            {"memopt transform --pass dead-data train.py -o train.dead-data",
             "memopt transform --pass flags --runs 5 train.py -- --epochs 1"},
            "Exit status: 0 (also when the pass does not apply), 2 on a usage or input error."};
}

fs::path fresh_dir(const fs::path& script, const std::string& pass) {
    const fs::path base = script.parent_path() / (script.stem().string() + "." + pass);
    if (!fs::exists(fs::symlink_status(base))) return base;
    for (int i = 2;; ++i) {
        fs::path candidate = base.string() + "-" + std::to_string(i);
        if (!fs::exists(fs::symlink_status(candidate))) return candidate;
    }
}

} // namespace

int run_transform(const Args& args) {
    std::string pass, output, profile;
    int runs = 3;
    po::options_description desc("options");
    desc.add_options()
        ("pass", po::value(&pass)->value_name("PASS"), "the pass to run (listed above)")
        ("output,o", po::value(&output)->value_name("DIR"), "directory to write (must not exist or be empty; its parent must exist)")
        ("profile", po::value(&profile)->value_name("FILE"), "memopt.profile/1 JSON from `memopt probe` (optional)")
        ("runs", po::value(&runs)->default_value(3)->value_name("N"), "launcher passes: measured runs per option");
    const SplitScript split = split_script(args, desc);
    po::variables_map vm;
    if (!parse_options(split.options, transform_help(), desc, {}, vm)) return 0;
    if (pass.empty()) throw Error(fmt::format("--pass is required ({})", transforms::pass_name_list()));
    transforms::find_pass(pass);
    if (split.script.empty()) throw Error("no script given (usage: memopt transform --pass PASS SCRIPT.py)");
    if (!fs::is_regular_file(split.script)) throw Error(fmt::format("{}: no such file", split.script));
    const fs::path script = fs::absolute(split.script);
    transforms::OutputDirectory out(output.empty() ? fresh_dir(script, pass) : fs::path(output));
    transforms::PassInput input;
    input.program.path = script;
    input.args = transforms::resolve_args(split.script_args);
    input.out_dir = out.path();
    if (!profile.empty()) input.profile = fs::absolute(profile);
    input.runs = runs;
    input.work_dir = out.path() / ".runs";
    input.progress = [](const std::string& text) { fmt::print(stderr, "{}\n", text); };
    const transforms::PassReport report = transforms::run_pass(pass, input);
    fs::remove_all(input.work_dir);
    if (!report.applied) {
        fmt::print("memopt transform: {}: not applied: {}\n", pass, report.reason);
        return 0; // what `out` created is removed: nothing written
    }
    out.keep();
    fmt::print("memopt transform: {}: wrote {}\n", pass, report.program.path);
    for (const auto& c : report.changes) fmt::print("  - {}\n", c);
    return 0;
}

} // namespace memopt::cli
