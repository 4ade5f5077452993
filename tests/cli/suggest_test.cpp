// Did-you-mean (cli/suggest.h) and the command/option split (cli/options.h).
#include "cli/options.h"
#include "cli/suggest.h"
#include "tests/support/run.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>

using namespace memopt::cli;
using memopt::test::run;

namespace {

const std::string kMemopt = MEMOPT_BINARY;

po::options_description sample_options() {
    po::options_description desc("options");
    desc.add_options()("output,o", po::value<std::string>()->value_name("FILE"), "out")("force,f", "replace")(
        "stacks", po::value<std::string>()->implicit_value("1")->value_name("N"), "stacks")(
        "interval", po::value<unsigned>()->default_value(10)->value_name("MS"), "period");
    return desc;
}

} // namespace

TEST_CASE("edit distance counts a swap of neighbours as one edit") {
    CHECK(edit_distance("reprot", "report") == 1);
    CHECK(edit_distance("--outptu", "--output") == 1);
    CHECK(edit_distance("record", "record") == 0);
    CHECK(edit_distance("", "gate") == 4);
    CHECK(edit_distance("optimise", "optimize") == 1);
    CHECK(edit_distance("probe", "report") > 2);
}

TEST_CASE("nearest suggests only words near enough to be a typo") {
    const std::vector<std::string> commands{"record", "probe", "report", "transform", "optimize", "gate"};
    CHECK(nearest("reprot", commands) == "report");
    CHECK(nearest("recrod", commands) == "record");
    CHECK(nearest("gaet", commands) == "gate");
    CHECK(nearest("transfrom", commands) == "transform");
    CHECK_FALSE(nearest("xyz", commands));
    CHECK_FALSE(nearest("compile", commands));
}

TEST_CASE("a mistyped command: one line with a suggestion, exit 2") {
    const auto r = run(kMemopt + " reprot t.trace");
    CHECK(r.status == 2);
    CHECK(r.err == "memopt: unknown command 'reprot'; did you mean 'report'?\n");
    CHECK(r.out.empty());
    const auto far = run(kMemopt + " frobnicate");
    CHECK(far.status == 2);
    CHECK(far.err == "memopt: unknown command 'frobnicate' (see: memopt --help)\n");
    const auto help = run(kMemopt + " help reprot");
    CHECK(help.status == 2);
    CHECK(help.err == "memopt: unknown command 'reprot'; did you mean 'report'?\n");
    const auto option = run(kMemopt + " --verison");
    CHECK(option.status == 2);
    CHECK(option.err == "memopt: unknown option '--verison'; did you mean '--version'?\n");
}

TEST_CASE("a mistyped option: one line with a suggestion, exit 2, nothing run") {
    memopt::test::ScratchDir dir("cli-typo");
    const auto report = run(kMemopt + " report x.trace --outptu y.txt");
    CHECK(report.status == 2);
    CHECK(report.err ==
          "memopt report: unknown option '--outptu'; did you mean '--output'? (see: memopt report --help)\n");
    const auto format = run(kMemopt + " report x.trace --format htlm");
    CHECK(format.status == 2);
    CHECK(format.err.find("unknown format 'htlm'; did you mean 'html'?") != std::string::npos);
    const std::string marker = (dir / "ran").string();
    const auto record = run(fmt::format("{} record --intreval=5 -- touch {}", kMemopt, memopt::test::quote(marker)));
    CHECK(record.status == 2);
    CHECK(record.err.find("unknown option '--intreval'; did you mean '--interval'?") != std::string::npos);
    CHECK(std::count(record.err.begin(), record.err.end(), '\n') == 1);
    CHECK_FALSE(std::filesystem::exists(marker));
    const auto gate = run(kMemopt + " gate --max-peek 1GB -- true");
    CHECK(gate.status == 2);
    CHECK(gate.err.find("did you mean '--max-peak'?") != std::string::npos);
}

TEST_CASE("the split knows from the option table which options take the next word") {
    const auto desc = sample_options();
    auto split = split_command({"-o", "t.trace", "python3", "-o", "x"}, desc);
    CHECK(split.options == Args{"-o", "t.trace"});
    CHECK(split.command == Args{"python3", "-o", "x"});
    split = split_command({"--out", "t.trace", "-f", "--stacks", "ls", "-l"}, desc); // a prefix, an optional value
    CHECK(split.options == Args{"--out", "t.trace", "-f", "--stacks"});
    CHECK(split.command == Args{"ls", "-l"});
    split = split_command({"--interval", "5", "--output=t", "--", "-weird"}, desc);
    CHECK(split.options == Args{"--interval", "5", "--output=t"});
    CHECK(split.command == Args{"-weird"});
    const auto script = split_script({"run.py", "--interval", "7", "-f", "--", "a"}, desc);
    CHECK(script.script == "run.py");
    CHECK(script.options == Args{"--interval", "7", "-f"});
    CHECK(script.script_args == Args{"a"});
}
