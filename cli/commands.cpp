#include "cli/commands.h"

#include <array>

namespace memopt::cli {

std::span<const Command> commands() {
    static constexpr std::array<Command, 6> table{{
        {"record", "trace heap, mmap and RSS of any command (LD_PRELOAD)", run_record},
        {"probe", "run a Python script in an embedded, instrumented interpreter", run_probe},
        {"report", "summarize a trace, a probe profile or the steps of optimize (text, json, html, ...)", run_report},
        {"transform", "apply one memory-saving pass to a Python program", run_transform},
        {"optimize", "apply all passes, keeping those proven safe and useful", run_optimize},
        {"gate", "fail when a command's peak memory exceeds a limit", run_gate},
    }};
    return table;
}

} // namespace memopt::cli
