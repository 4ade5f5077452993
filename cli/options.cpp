#include "cli/options.h"

#include "cli/suggest.h"
#include "common/error.h"

#include <fmt/format.h>
#include <iostream>

namespace memopt::cli {
namespace {

constexpr std::size_t kWidth = 79;        // columns of the help text
constexpr std::size_t kMaxOptionColumn = 28; // descriptions start here at most

OptionsObserver g_observer = nullptr;

// One option of the table as help shows it.
struct OptionView {
    std::string short_name; // "-o" or empty
    std::string long_name;  // "output" (without dashes) or empty
    std::string value;      // "FILE"; empty for a flag
    bool optional_value = false; // --stacks[=N]
    bool repeatable = false;
    std::string default_text;
    std::string description;
};

// Boost keeps the value name and default inside value_semantic::name():
// "FILE", "MS (=10)", "[=N(=128KiB)]", "[=N(=128KiB)] (=x)".
OptionView view_of(const po::option_description& option) {
    OptionView view;
    const std::string shortest = option.canonical_display_name(po::command_line_style::allow_dash_for_short);
    if (shortest.size() == 2 && shortest[0] == '-') view.short_name = shortest;
    view.long_name = option.long_name();
    view.description = option.description();
    const auto& semantic = *option.semantic();
    view.repeatable = semantic.is_composing();
    if (semantic.max_tokens() == 0) return view;
    std::string name = semantic.name();
    view.optional_value = semantic.min_tokens() == 0;
    if (const auto at = name.rfind(" (="); at != std::string::npos && name.back() == ')') {
        view.default_text = name.substr(at + 3, name.size() - at - 4);
        name.resize(at);
    }
    if (name.starts_with("[=")) name = name.substr(2, name.find("(=") - 2);
    view.value = name;
    return view;
}

bool is_positional(const po::option_description& option, const po::positional_options_description& positional) {
    const unsigned count = positional.max_total_count();
    for (unsigned i = 0; i < count && i < 16; ++i)
        if (positional.name_for_position(i) == option.long_name()) return true;
    return false;
}

// "[-o FILE]", "[--interval=MS]", "[--stacks[=N]]", "[-X OPT]..."
std::string synopsis_item(const OptionView& v) {
    std::string item;
    if (!v.short_name.empty()) {
        item = v.short_name;
        if (!v.value.empty()) item += v.optional_value ? "[" + v.value + "]" : " " + v.value;
    } else {
        item = "--" + v.long_name;
        if (!v.value.empty()) item += v.optional_value ? "[=" + v.value + "]" : "=" + v.value;
    }
    return "[" + item + "]" + (v.repeatable ? "..." : "");
}

// "-o, --output=FILE", "    --interval=MS", "    --stacks[=N]"
std::string option_column(const OptionView& v) {
    std::string text = v.short_name.empty() ? "    " : v.short_name + (v.long_name.empty() ? "" : ", ");
    if (!v.long_name.empty()) {
        text += "--" + v.long_name;
        if (!v.value.empty()) text += v.optional_value ? "[=" + v.value + "]" : "=" + v.value;
    } else if (!v.value.empty()) {
        text += " " + v.value;
    }
    return text;
}

// Words of `text` laid out from `column` to kWidth; the first line continues `out`.
void append_wrapped(std::string& out, const std::string& text, std::size_t column) {
    std::size_t at = out.size() - (out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
    std::size_t start = 0;
    bool first = true;
    while (start < text.size()) {
        std::size_t end = text.find(' ', start);
        if (end == std::string::npos) end = text.size();
        const std::string word = text.substr(start, end - start);
        start = end + 1;
        if (word.empty()) continue;
        if (!first && at + 1 + word.size() > kWidth) {
            out += '\n' + std::string(column, ' ');
            at = column;
        } else if (!first) {
            out += ' ';
            ++at;
        }
        out += word;
        at += word.size();
        first = false;
    }
}

// Prose lines are joined and wrapped to kWidth; indented lines (tables such as the pass
// list) and blank lines stay as written.
std::string reflow(const std::string& text) {
    std::string out, paragraph;
    auto flush = [&] {
        if (paragraph.empty()) return;
        std::string line;
        append_wrapped(line, paragraph, 0);
        out += line + "\n";
        paragraph.clear();
    };
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        const std::string line = text.substr(start, end - start);
        start = end + 1;
        if (line.empty() || line.starts_with("  ")) {
            flush();
            if (start <= text.size() || !line.empty()) out += line + "\n";
        } else {
            paragraph += (paragraph.empty() ? "" : " ") + line;
        }
    }
    flush();
    return out;
}

std::vector<std::string> option_names(const po::options_description& desc) {
    std::vector<std::string> names;
    for (const auto& option : desc.options()) {
        if (!option->long_name().empty()) names.push_back("--" + option->long_name());
        const std::string shortest = option->canonical_display_name(po::command_line_style::allow_dash_for_short);
        if (shortest.size() == 2 && shortest[0] == '-') names.push_back(shortest);
    }
    return names;
}

std::string unknown_option_message(const std::string& option, const po::options_description& desc) {
    const std::string typed = option.substr(0, option.find('='));
    const auto names = option_names(desc);
    const auto suggestion = nearest(typed, names);
    if (!suggestion) return fmt::format("unknown option '{}'", typed);
    return fmt::format("unknown option '{}'; did you mean '{}'?", typed, *suggestion);
}

// Whether `word` is an option that takes its value as the next word: "-o", "--output" or an
// unambiguous prefix such as "--out" (Boost accepts those), never "--output=x" or "-ox".
bool takes_next_word(const std::string& word, const po::options_description& desc) {
    if (word.size() < 2 || word[0] != '-' || word.find('=') != std::string::npos) return false;
    const po::option_description* match = nullptr;
    if (word[1] != '-') {
        if (word.size() != 2) return false;
        match = desc.find_nothrow(word, false);
    } else {
        const std::string name = word.substr(2);
        for (const auto& option : desc.options()) {
            if (option->long_name() == name) {
                match = option.get();
                break;
            }
            if (!name.empty() && option->long_name().starts_with(name)) {
                if (match) return false; // ambiguous: the parser says so
                match = option.get();
            }
        }
    }
    return match && match->semantic()->min_tokens() > 0;
}

} // namespace

std::string usage_text(const CommandHelp& help, const po::options_description& desc,
                       const po::positional_options_description& positional) {
    std::string out = "Usage: memopt " + help.name;
    const std::size_t indent = out.size() + 1;
    std::string items;
    for (const auto& option : desc.options()) {
        if (is_positional(*option, positional)) continue;
        if (!items.empty()) items += ' ';
        items += synopsis_item(view_of(*option));
    }
    if (!help.operands.empty()) items += (items.empty() ? "" : " ") + help.operands;
    out += ' ';
    append_wrapped(out, items, indent);
    return out + "\n";
}

std::string help_text(const CommandHelp& help, const po::options_description& desc,
                      const po::positional_options_description& positional) {
    std::string out = usage_text(help, desc, positional);
    if (!help.description.empty()) out += "\n" + reflow(help.description);
    std::vector<std::pair<std::string, OptionView>> rows;
    std::size_t column = 0;
    for (const auto& option : desc.options()) {
        if (is_positional(*option, positional)) continue;
        OptionView view = view_of(*option);
        std::string left = "  " + option_column(view);
        column = std::max(column, std::min(left.size() + 2, kMaxOptionColumn));
        rows.emplace_back(std::move(left), std::move(view));
    }
    out += "\nOptions:\n";
    for (const auto& [left, view] : rows) {
        std::string text = view.description;
        if (!view.default_text.empty() && text.find("default") == std::string::npos)
            text += fmt::format(" (default: {})", view.default_text);
        out += left;
        if (left.size() + 2 > column) out += '\n' + std::string(column, ' ');
        else out += std::string(column - left.size(), ' ');
        append_wrapped(out, text, column);
        out += '\n';
    }
    if (!help.examples.empty()) {
        out += help.examples.size() == 1 ? "\nExample:\n" : "\nExamples:\n";
        for (const auto& example : help.examples) out += "  " + example + "\n";
    }
    if (!help.footer.empty()) out += "\n" + reflow(help.footer);
    return out;
}

void observe_options(OptionsObserver observer) { g_observer = observer; }

bool parse_options(const Args& args, const CommandHelp& help, const po::options_description& desc,
                   const po::positional_options_description& positional, po::variables_map& vm) {
    po::options_description all = desc;
    all.add_options()("help,h", "show this help and exit");
    if (g_observer) g_observer(help, all, positional);
    try {
        po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
        if (vm.count("help")) {
            std::cout << help_text(help, all, positional) << std::flush;
            return false;
        }
        po::notify(vm);
    } catch (const po::unknown_option& e) {
        throw Error(fmt::format("{} (see: memopt {} --help)", unknown_option_message(e.get_option_name(), all), help.name));
    } catch (const po::error& e) {
        throw Error(fmt::format("{} (see: memopt {} --help)", e.what(), help.name));
    }
    return true;
}

SplitCommand split_command(const Args& args, const po::options_description& desc) {
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
        if (takes_next_word(arg, desc) && i + 1 < args.size()) split.options.push_back(args[++i]);
    }
    return split;
}

SplitScript split_script(const Args& args, const po::options_description& desc) {
    SplitScript split;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg == "--") {
            split.script_args.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
            break;
        }
        if (!arg.empty() && arg[0] == '-') {
            split.options.push_back(arg);
            if (takes_next_word(arg, desc) && i + 1 < args.size()) split.options.push_back(args[++i]);
        } else if (split.script.empty()) {
            split.script = arg;
        } else {
            throw Error(fmt::format("unexpected argument '{}' (program arguments go after --)", arg));
        }
    }
    return split;
}

} // namespace memopt::cli
