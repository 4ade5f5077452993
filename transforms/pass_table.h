#pragma once
// The pass table, as the C++ side sees it. The passes are declared once, in PASSES of
// python/memopt/transforms/__init__.py (name, paper step, kind, entry module, summary);
// this reads that table once per process (`python3 -m memopt.transforms --list-json`) and
// keeps no list of its own. To add a pass, see docs/optimize.md ("Where a pass is declared").
#include <string>
#include <vector>

namespace memopt::transforms {

enum class PassKind {
    Rewrite,   // the Python module rewrites the program's source
    Launcher,  // transforms/flags.cpp measures interpreter options and environment settings,
               // then the Python module writes the program with the chosen ones
};

struct PassInfo {
    std::string name;     // `memopt transform --pass NAME`, steps.json's "pass"
    int paper_step = 0;   // the paper's step it automates (2..5)
    PassKind kind = PassKind::Rewrite;
    std::string module;   // memopt.transforms.<module>: its run(...) is the entry point
    std::string summary;  // one line for --help
};

// Every pass in the paper's order (the order `memopt optimize` tries them in). Read on the
// first call; throws memopt::Error when the Python side cannot be run or its table is malformed.
const std::vector<PassInfo>& pass_table();

// Parses the JSON that `--list-json` prints (exposed for tests); throws memopt::Error.
std::vector<PassInfo> parse_pass_table(const std::string& json_text);

// The pass called `name`; throws memopt::Error naming the known passes otherwise.
const PassInfo& find_pass(const std::string& name);

std::vector<std::string> pass_names();

// "static-to-dynamic, dead-data, flatten, flags"
std::string pass_name_list();

// One line per pass for --help: "  NAME  step N, KIND: SUMMARY" (no final newline).
std::string describe_passes();

} // namespace memopt::transforms
