#pragma once
// "The line" of an allocation stack: the one frame a person reads as where the memory was
// asked for, and the sampled stacks grouped by it (the top lines at the peak, the diff's
// sites). Every view that names a site by one frame goes through allocation_line().
#include "reports/analysis/stacks.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace memopt::reports {

// A Python frame of a hybrid stack: "file.py:LINE function".
bool is_python_frame(std::string_view frame);
// A frame of the machinery between a program and its memory: an allocator function (any
// name with "alloc" in it, operator new), the C/C++ runtime (libc, ld.so, libstdc++,
// libgcc), the CPython interpreter (python3.X, libpython3.X) or memopt's tracer.
bool is_runtime_frame(std::string_view frame);

// The line of a stack given outermost frame first (WeightedStack::frames): the innermost
// Python frame when the stack has one; else the innermost frame that is not a runtime frame;
// else the innermost interpreter frame that is not an allocator; else the leaf; "?" for an
// empty stack.
std::string allocation_line(const std::vector<std::string>& outermost_first);

struct LineWeight {
    std::string line;
    std::uint64_t bytes = 0;
    std::uint64_t count = 0;
};

// Sums the stacks by allocation_line(), largest bytes first (ties by line).
std::vector<LineWeight> weights_by_line(const std::vector<WeightedStack>& stacks);

} // namespace memopt::reports
