#include "cli/options.h"

#include "common/error.h"

#include <fmt/format.h>
#include <iostream>

namespace memopt::cli {

bool parse_options(const Args& args, std::string_view command, const std::string& usage, const po::options_description& desc,
                   const po::positional_options_description& positional, po::variables_map& vm) {
    po::options_description all = desc;
    all.add_options()("help,h", "show this help");
    try {
        po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
        if (vm.count("help")) {
            std::cout << "usage: " << usage << "\n\n" << all << std::flush;
            return false;
        }
        po::notify(vm);
    } catch (const po::error& e) {
        throw Error(fmt::format("{} (see: memopt {} --help)", e.what(), command));
    }
    return true;
}

SplitCommand split_command(const Args& args, std::initializer_list<std::string_view> options_with_value) {
    SplitCommand split;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg == "--") {
            split.command.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
            return split;
        }
        if (arg.empty() || arg[0] != '-') {
            split.command.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
            return split;
        }
        split.options.push_back(arg);
        for (std::string_view name : options_with_value) {
            if (arg == name && i + 1 < args.size()) {
                split.options.push_back(args[++i]);
                break;
            }
        }
    }
    return split;
}

SplitScript split_script(const Args& args, std::initializer_list<std::string_view> options_with_value) {
    SplitScript split;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg == "--") {
            split.script_args.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
            break;
        }
        if (!arg.empty() && arg[0] == '-') {
            split.options.push_back(arg);
            for (std::string_view name : options_with_value) {
                if (arg == name && i + 1 < args.size()) {
                    split.options.push_back(args[++i]);
                    break;
                }
            }
        } else if (split.script.empty()) {
            split.script = arg;
        } else {
            throw Error(fmt::format("unexpected argument '{}' (program arguments go after --)", arg));
        }
    }
    return split;
}

} // namespace memopt::cli
