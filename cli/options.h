#pragma once
// Helpers shared by the subcommands: Boost.Program_options parsing with one help generator
// (GNU style: "Usage: memopt CMD [-o FILE] ...", "  -o, --output=FILE  what it does",
// examples), did-you-mean for mistyped options, and splitting
// "memopt CMD [options] [--] PROGRAM ARGS..." with the value-taking options read from the
// same option table, so usage, help, parser and splitter cannot drift apart.
#include "cli/commands.h"

#include <boost/program_options.hpp>
#include <string>
#include <vector>

namespace memopt::cli {

namespace po = boost::program_options;

// What --help says about a subcommand besides its options (those come from the table).
struct CommandHelp {
    std::string name;                  // "record"
    std::string operands;              // after the options in the usage line: "[--] CMD [ARG]..."
    std::string description;           // paragraphs, shown as written
    std::vector<std::string> examples; // whole command lines, "memopt record -o t.trace -- python3 x.py"
    std::string footer;                // exit status and the like, shown last
};

// "Usage: memopt NAME [-o FILE] [-f] [--interval=MS] ... OPERANDS", wrapped at 79 columns
// under the command name. Options that are positional (report's input) are left to OPERANDS.
std::string usage_text(const CommandHelp& help, const po::options_description& desc,
                       const po::positional_options_description& positional = {});

// The whole --help text: usage, description, the option list, examples, footer. `desc`
// must already hold -h, --help (parse_options adds it).
std::string help_text(const CommandHelp& help, const po::options_description& desc,
                      const po::positional_options_description& positional = {});

// Parses `args` into `vm`. Returns false when --help was given (the help text has then been
// printed to stdout). Unknown options (with a did-you-mean), missing and bad values throw
// memopt::Error.
bool parse_options(const Args& args, const CommandHelp& help, const po::options_description& desc,
                   const po::positional_options_description& positional, po::variables_map& vm);

// Every option table parse_options sees, with the help it was given (tests iterate them).
using OptionsObserver = void (*)(const CommandHelp& help, const po::options_description& desc,
                                 const po::positional_options_description& positional);
void observe_options(OptionsObserver observer);

struct SplitCommand {
    Args options; // memopt's own options
    Args command; // the program to run and its arguments
};

// Splits at "--" or at the first word that is not an option (or an option's value); which
// options take a separate value word ("-o FILE", "--interval 5") comes from `desc`.
SplitCommand split_command(const Args& args, const po::options_description& desc);

struct SplitScript {
    Args options;      // memopt's own options, anywhere before "--"
    std::string script; // the one positional word before "--" (empty when none)
    Args script_args;   // everything after "--": the program's own arguments
};

// For `memopt transform|optimize SCRIPT.py [options] [-- ARGS...]`. A second positional
// word before "--" throws memopt::Error (program arguments go after --).
SplitScript split_script(const Args& args, const po::options_description& desc);

} // namespace memopt::cli
