#pragma once
// Helpers shared by the subcommands: Boost.Program_options parsing with uniform --help and
// error text, and splitting "memopt CMD [options] [--] PROGRAM ARGS...".
#include "cli/commands.h"

#include <boost/program_options.hpp>
#include <initializer_list>
#include <string>

namespace memopt::cli {

namespace po = boost::program_options;

// Parses `args` of subcommand `command` into `vm`. Returns false when --help was given (the help text has then been
// printed to stdout). Unknown options and bad values throw memopt::Error.
bool parse_options(const Args& args, std::string_view command, const std::string& usage, const po::options_description& desc,
                   const po::positional_options_description& positional, po::variables_map& vm);

struct SplitCommand {
    Args options; // memopt's own options
    Args command; // the program to run and its arguments
};

// Splits at "--" or at the first word that is not an option (or an option's value).
// `options_with_value` lists the options that take a separate value word ("-o", "--interval").
SplitCommand split_command(const Args& args, std::initializer_list<std::string_view> options_with_value);

struct SplitScript {
    Args options;      // memopt's own options, anywhere before "--"
    std::string script; // the one positional word before "--" (empty when none)
    Args script_args;   // everything after "--": the program's own arguments
};

// For `memopt transform|optimize SCRIPT.py [options] [-- ARGS...]`. A second positional
// word before "--" throws memopt::Error (program arguments go after --).
SplitScript split_script(const Args& args, std::initializer_list<std::string_view> options_with_value);

} // namespace memopt::cli
