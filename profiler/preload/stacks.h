#pragma once
// Native stack sampling for --stacks[=N]: a Poisson process over allocated bytes picks
// which allocations get a stack (mean one every N bytes, so a block of N bytes or more is
// almost surely seen), libunwind captures the instruction pointers, and a frame trie shared
// by all threads gives every distinct stack a small id. New trie nodes and the module map
// go into the trace as kFrame / kModule records; names are resolved later by the reader.
#include <cstddef>
#include <cstdint>

namespace memopt::preload {

struct ThreadBuffer;

inline constexpr int kMaxStackDepth = 64;

// True when this allocation of `size` bytes should carry a stack. The per-thread countdown
// (t_thread.bytes_until_sample) is lowered by `size` inline by the caller (tracer.cpp), which
// calls this only once it reached zero: it draws the next countdown.
bool stack_sample_due(std::size_t size, std::uint64_t mean_bytes) noexcept;

// Captures the caller's stack; returns the number of frames written to `ips`.
int capture_stack(std::uintptr_t* ips, int max_depth) noexcept;

// Interns the stack (outermost frame last in `ips`), appending kFrame records for new nodes
// and kModule records when the set of loaded objects changed. Buffer lock held. Returns
// the leaf node id (0 when the trie is full).
std::uint64_t intern_stack(ThreadBuffer& buffer, const std::uintptr_t* ips, int depth) noexcept;

// Forked child: its trace file has none of the parent's nodes or modules yet.
void reset_stacks_after_fork() noexcept;

} // namespace memopt::preload
