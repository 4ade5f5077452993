#include "reports/render/exports.h"

#include <fmt/format.h>

namespace memopt::reports {

std::string to_folded(const std::vector<WeightedStack>& stacks) {
    std::string out;
    for (const auto& stack : stacks) {
        if (stack.bytes == 0) continue;
        for (std::size_t i = 0; i < stack.frames.size(); ++i) {
            if (i) out += ';';
            out += clean_frame(stack.frames[i]);
        }
        out += fmt::format(" {}\n", stack.bytes);
    }
    return out;
}

} // namespace memopt::reports
