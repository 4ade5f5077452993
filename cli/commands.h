#pragma once
// The subcommand table. Each subcommand lives in its own file (cli/NAME.cpp), parses its own
// options and calls a library; main() only dispatches and maps errors to exit statuses.
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace memopt::cli {

using Args = std::vector<std::string>;

struct Command {
    std::string_view name;
    std::string_view summary;
    int (*run)(const Args& args);
};

int run_record(const Args& args);
int run_probe(const Args& args);
int run_report(const Args& args);
int run_transform(const Args& args);
int run_optimize(const Args& args);
int run_gate(const Args& args);

std::span<const Command> commands();

} // namespace memopt::cli
