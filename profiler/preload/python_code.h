#pragma once
// Code objects seen in sampled stacks: each gets a small id and one kPythonCode record (file,
// function, first line) the first time it is seen; frames then refer to (code id, line).
//
// A code object can be freed and another one created at the same address. The table keys
// an entry by the address AND the objects it points to (file name, qualified name, line
// table) and its first line: a new code object at an old address gets a new id unless all of
// those are the same objects again (then its label is the same anyway).
//
// Called with the frame trie's lock and the thread's buffer lock held (stacks.cpp); the table
// lives in memory mapped on first use and is dropped in a forked child.
#include <cstdint>

namespace memopt::preload {

struct ThreadBuffer;

struct PythonFrameKey {
    std::uint64_t code_id = 0; // 0: the table was full; the frame is shown as "[python]"
    std::uint32_t line = 0;    // 0: no line (an instruction without a location)
};

// `code` is a code object's address (as python_frames.h leaves it in a slot) and
// `instruction` the frame's instruction index.
PythonFrameKey python_frame_key(ThreadBuffer& buffer, std::uintptr_t code, int instruction) noexcept;

// Forked child: its trace has none of the parent's kPythonCode records.
void reset_python_code_after_fork() noexcept;

// The line of `instruction` (code units) in a CPython 3.11 location table (Objects/locations.md),
// counting from `first_line`; 0 when the instruction has no line. Exposed for tests.
std::uint32_t line_of_instruction(const std::uint8_t* table, std::uint64_t length, int first_line,
                                  int instruction) noexcept;

} // namespace memopt::preload
