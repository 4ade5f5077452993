// memopt entry point: dispatches to the subcommand table and is the one place where errors
// become a one-line message and an exit status (2 for usage and input errors).
#include "cli/commands.h"
#include "common/error.h"

#include <boost/program_options/errors.hpp>
#include <cstdio>
#include <exception>
#include <fmt/format.h>
#include <string_view>

namespace {

constexpr std::string_view kVersion = "0.1.0";

void print_help() {
    fmt::print("memopt {} - measure and cut the memory of Python ML programs\n\n"
               "usage: memopt SUBCOMMAND [options] ...\n\nsubcommands:\n",
               kVersion);
    for (const auto& command : memopt::cli::commands())
        fmt::print("  {:<10} {}\n", command.name, command.summary);
    fmt::print("\n`memopt SUBCOMMAND --help` describes each one. Exit status: 0 ok, 1 limit or\n"
               "threshold not met, 2 usage or input error; `record` passes on the command's own.\n");
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        print_help();
        return 2;
    }
    const std::string_view first = argv[1];
    if (first == "--help" || first == "-h" || first == "help") {
        print_help();
        return 0;
    }
    if (first == "--version") {
        fmt::print("memopt {}\n", kVersion);
        return 0;
    }
    for (const auto& command : memopt::cli::commands()) {
        if (command.name != first) continue;
        const memopt::cli::Args args(argv + 2, argv + argc);
        try {
            return command.run(args);
        } catch (const memopt::Error& e) {
            fmt::print(stderr, "memopt {}: {}\n", command.name, e.what());
        } catch (const boost::program_options::error& e) {
            fmt::print(stderr, "memopt {}: {}\n", command.name, e.what());
        } catch (const std::exception& e) {
            fmt::print(stderr, "memopt {}: internal error: {}\n", command.name, e.what());
        }
        return 2;
    }
    fmt::print(stderr, "memopt: unknown subcommand '{}' (see memopt --help)\n", first);
    return 2;
}
