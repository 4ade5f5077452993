#pragma once
// Native stack sampling for --stacks[=N]: a Poisson process over allocated bytes picks
// which allocations get a stack (mean one every N bytes, so a block of N bytes or more is
// almost surely seen), libunwind captures the instruction pointers, and a frame trie shared
// by all threads gives every distinct stack a small id. New trie nodes and the module map
// go into the trace as kFrame / kModule records; names are resolved later by the reader.
//
// Hybrid stacks: in a CPython 3.11 process each `_PyEval_EvalFrameDefault` frame is replaced
// by the Python frames that eval-loop call was running (python_frames.h), as kPythonFrame
// nodes. A stack with more frames than the depth limit (MEMOPT_STACK_DEPTH, read once at
// load) keeps its innermost frames under a `[truncated]` root node (a kFrame with ip 0).
#include "profiler/trace/format.h"

#include <cstddef>
#include <cstdint>

namespace memopt::preload {

struct ThreadBuffer;

// Slots of the array the caller passes to capture_stack (a native frame takes one, a Python
// frame two). 8 KiB on the allocating thread's stack, only while a stack is sampled.
inline constexpr int kMaxStackDepth = 1024;
// Frames kept per stack unless MEMOPT_STACK_DEPTH says otherwise, and its largest value.
inline constexpr int kDefaultStackDepth = static_cast<int>(trace::kDefaultStackDepth);
inline constexpr int kMaxStackDepthLimit = static_cast<int>(trace::kMaxStackDepthLimit);
static_assert(2 * kMaxStackDepthLimit + 2 < kMaxStackDepth);

// True when this allocation of `size` bytes should carry a stack. The per-thread countdown
// (t_thread.bytes_until_sample) is lowered by `size` inline by the caller (tracer.cpp), which
// calls this only once it reached zero: it draws the next countdown.
bool stack_sample_due(std::size_t size, std::uint64_t mean_bytes) noexcept;

// Captures the caller's stack into `slots` (innermost first: native instruction pointers,
// then this thread's Python frames); returns the number of slots written.
int capture_stack(std::uintptr_t* slots, int max_slots) noexcept;

// Interns the captured stack, appending kFrame / kPythonFrame / kPythonCode records for new
// nodes and kModule records when the set of loaded objects changed. Buffer lock held.
// Returns the leaf node id (0 when the trie is full).
std::uint64_t intern_stack(ThreadBuffer& buffer, const std::uintptr_t* slots, int count) noexcept;

// The depth limit in frames (MEMOPT_STACK_DEPTH, clamped to 2..kMaxStackDepthLimit).
int stack_depth_limit() noexcept;
void set_stack_depth_limit(int frames) noexcept; // tests

// Forked child: its trace file has none of the parent's nodes or modules yet.
void reset_stacks_after_fork() noexcept;

} // namespace memopt::preload
