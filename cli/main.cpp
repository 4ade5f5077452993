// memopt entry point: dispatches to the subcommand table and is the one place where errors
// become a one-line message and an exit status (2 for usage and input errors).
#include "cli/commands.h"
#include "cli/suggest.h"
#include "common/error.h"

#include <boost/program_options/errors.hpp>
#include <cstdio>
#include <exception>
#include <fmt/format.h>
#include <string_view>
#include <vector>

namespace {

constexpr std::string_view kVersion = "0.1.0";

void print_help(std::FILE* to) {
    fmt::print(to, "Usage: memopt COMMAND [OPTION]... [ARG]...\n"
                   "       memopt --help | --version | COMMAND --help | help COMMAND\n"
                   "Measure and cut the memory of Python ML programs (memopt {}).\n\nCommands:\n",
               kVersion);
    for (const auto& command : memopt::cli::commands())
        fmt::print(to, "  {:<10} {}\n", command.name, command.summary);
    fmt::print(to, "\nOptions:\n"
                   "  -h, --help     show this help and exit\n"
                   "      --version  print the version and exit\n\n"
                   "Examples:\n"
                   "  memopt record -o train.trace -- python3 train.py\n"
                   "  memopt report train.trace --format html -o train.html\n\n"
                   "`memopt COMMAND --help` describes each command. Sizes: MB = 10^6 bytes, MiB = 2^20.\n"
                   "Exit status: 0 ok, 1 limit or threshold not met, 2 usage or input error;\n"
                   "`record` passes on the command's own.\n");
}

// "unknown command 'reprot'; did you mean 'report'?"
std::string unknown_command(std::string_view word) {
    std::vector<std::string> names;
    for (const auto& command : memopt::cli::commands()) names.emplace_back(command.name);
    const bool option = word.starts_with("-");
    if (option) names = {"--help", "--version"};
    const auto suggestion = memopt::cli::nearest(word, names);
    const std::string what = fmt::format("unknown {} '{}'", option ? "option" : "command", word);
    if (suggestion) return fmt::format("{}; did you mean '{}'?", what, *suggestion);
    return what + " (see: memopt --help)";
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        print_help(stderr);
        return 2;
    }
    std::vector<std::string> words(argv + 1, argv + argc);
    if (words[0] == "help" && words.size() == 2) words = {words[1], "--help"}; // memopt help COMMAND
    const std::string_view first = words[0];
    if (first == "--help" || first == "-h" || first == "help") {
        print_help(stdout);
        return 0;
    }
    if (first == "--version") {
        fmt::print("memopt {}\n", kVersion);
        return 0;
    }
    for (const auto& command : memopt::cli::commands()) {
        if (command.name != first) continue;
        const memopt::cli::Args args(words.begin() + 1, words.end());
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
    fmt::print(stderr, "memopt: {}\n", unknown_command(first));
    return 2;
}
