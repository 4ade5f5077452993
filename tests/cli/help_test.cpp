// Every subcommand's --help, generated from its real option table: the test sees each table
// through cli::observe_options and checks that the usage line and the option list name
// every option it defines, each with a value name, and that there are examples.
#include "cli/commands.h"
#include "cli/options.h"
#include "tests/support/run.h"

#include <catch2/catch.hpp>
#include <iostream>
#include <sstream>

using namespace memopt::cli;

namespace {

struct Seen {
    CommandHelp help;
    std::vector<std::string> longs, shorts, positional;
    bool valueless_named_arg = false;
};
Seen g_seen;

void remember(const CommandHelp& help, const po::options_description& desc, const po::positional_options_description& pos) {
    g_seen = Seen{help, {}, {}, {}, false};
    for (unsigned i = 0; i < pos.max_total_count() && i < 4; ++i) g_seen.positional.push_back(pos.name_for_position(i));
    for (const auto& option : desc.options()) {
        g_seen.longs.push_back(option->long_name());
        const std::string shortest = option->canonical_display_name(po::command_line_style::allow_dash_for_short);
        g_seen.shorts.push_back(shortest.size() == 2 ? shortest : "");
        const bool operand = std::find(g_seen.positional.begin(), g_seen.positional.end(), option->long_name()) !=
                             g_seen.positional.end();
        if (!operand && option->semantic()->max_tokens() > 0 && option->semantic()->name().find("arg") != std::string::npos)
            g_seen.valueless_named_arg = true;
    }
}

// Runs `memopt NAME --help` in this process, returning what it printed.
std::string help_of(const Command& command) {
    std::ostringstream captured;
    auto* old = std::cout.rdbuf(captured.rdbuf());
    int status = -1;
    try {
        status = command.run({"--help"});
    } catch (...) {
        std::cout.rdbuf(old);
        throw;
    }
    std::cout.rdbuf(old);
    CHECK(status == 0);
    return captured.str();
}

std::string section(const std::string& text, const std::string& from, const std::string& to) {
    const auto begin = text.find(from);
    if (begin == std::string::npos) return "";
    const auto end = text.find(to, begin + from.size());
    return text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

} // namespace

TEST_CASE("help of every subcommand lists every option its parser defines") {
    observe_options(remember);
    REQUIRE(commands().size() >= 6);
    for (const Command& command : commands()) {
        INFO("memopt " << command.name << " --help");
        const std::string help = help_of(command);
        REQUIRE(g_seen.help.name == command.name);
        CHECK_FALSE(g_seen.valueless_named_arg); // every value has a name: FILE, MS, N...
        const std::string usage = section(help, "Usage: memopt " + std::string(command.name), "\n\n");
        const std::string options = section(help, "\nOptions:\n", "\n\n");
        REQUIRE_FALSE(usage.empty());
        REQUIRE_FALSE(options.empty());
        CHECK(help.find("\nExample") != std::string::npos);
        CHECK(help.find("  memopt " + std::string(command.name) + " ") != std::string::npos);
        for (std::size_t i = 0; i < g_seen.longs.size(); ++i) {
            const std::string& name = g_seen.longs[i];
            INFO("option --" << name);
            const bool positional = std::find(g_seen.positional.begin(), g_seen.positional.end(), name) != g_seen.positional.end();
            if (positional) continue; // an operand, named in the usage line's operands
            CHECK(options.find("--" + name) != std::string::npos);
            if (!g_seen.shorts[i].empty()) {
                CHECK(options.find("  " + g_seen.shorts[i] + ", --" + name) != std::string::npos);
                CHECK(usage.find("[" + g_seen.shorts[i]) != std::string::npos);
            } else {
                CHECK(usage.find("[--" + name) != std::string::npos);
            }
        }
        // Everything fits 79 columns but the pass table's rows (one line per pass, as written).
        std::istringstream lines(help);
        for (std::string line; std::getline(lines, line);) {
            INFO(line);
            const bool pass_row = line.starts_with("  ") && line.find(", rewrite: ") != std::string::npos;
            const bool launcher_row = line.starts_with("  ") && line.find(", launcher: ") != std::string::npos;
            if (!pass_row && !launcher_row) CHECK(line.size() <= 79);
        }
    }
    observe_options(nullptr);
}

TEST_CASE("probe's usage line has the options it used to leave out") {
    observe_options(remember);
    for (const Command& command : commands()) {
        if (command.name != "probe") continue;
        const std::string help = help_of(command);
        const std::string usage = section(help, "Usage:", "\n\n");
        for (const char* option : {"[-f]", "[--interval=MS]", "[--top=N]", "[--no-code-tracking]", "[-X OPT]..."})
            CHECK(usage.find(option) != std::string::npos);
    }
    observe_options(nullptr);
}

TEST_CASE("memopt --help lists every command, and no argument is a usage error") {
    const auto r = memopt::test::run(std::string(MEMOPT_BINARY) + " --help");
    CHECK(r.status == 0);
    CHECK(r.out.rfind("Usage: memopt COMMAND", 0) == 0);
    for (const Command& command : commands()) CHECK(r.out.find("  " + std::string(command.name) + " ") != std::string::npos);
    CHECK(r.out.find("Examples:") != std::string::npos);
    const auto help_record = memopt::test::run(std::string(MEMOPT_BINARY) + " help record");
    CHECK(help_record.status == 0);
    CHECK(help_record.out.rfind("Usage: memopt record ", 0) == 0);
    const auto none = memopt::test::run(std::string(MEMOPT_BINARY));
    CHECK(none.status == 2);
    CHECK(none.out.empty());
    CHECK(none.err.rfind("Usage: memopt", 0) == 0);
}
