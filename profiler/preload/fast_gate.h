#pragma once
// One word the hooks test before anything else: zero when the inline path (shim.cpp,
// record_fast.h) may run without checking its preconditions one by one. Each bit is one
// reason it may not, set and cleared on its own by the code that changes that condition,
// so concurrent changes never leave a stale zero. With the gate shut the hooks take their
// general path, which checks everything (and is the only path before the first lookup).
//
// Two bits do not shut the inline path but say that one hook needs a check the others do
// not, so that the common case tests nothing else: kGateStacks (malloc and calloc keep the
// stack-sampling countdown) and kGateBootstrapBlocks (free must recognise the bootstrap
// arena's blocks). Each hook masks out the bit it does not care about (same one test) and
// takes a variant, out of line, that makes the extra check when its own bit is set.
#include <atomic>

namespace memopt::preload {

inline constexpr unsigned kGateNotLookedUp = 1;  // the real functions are not known yet
inline constexpr unsigned kGateInactive = 2;     // the tracer is off (tracer_set_active)
inline constexpr unsigned kGateInprocess = 4;    // in-process totals count every event
inline constexpr unsigned kGateOwnerFences = 8;  // no membarrier: owners fence themselves
inline constexpr unsigned kGateStacks = 16;      // stacks are sampled (tracer_configure)
// The bootstrap arena handed out a block (bootstrap_allocator.h). Set before the block is
// returned and never cleared, so a free of such a block, which comes after, always sees
// it; in a normal run dlsym allocates nothing and the bit stays clear.
inline constexpr unsigned kGateBootstrapBlocks = 32;

extern std::atomic<unsigned> g_fast_gate;

inline unsigned fast_gate() noexcept { return g_fast_gate.load(std::memory_order_relaxed); }
// The inline path of the acquisitions (no stack due) and of free.
inline bool acquisition_gate_open(unsigned gate) noexcept { return (gate & ~kGateBootstrapBlocks) == 0; }
inline bool free_gate_open(unsigned gate) noexcept { return (gate & ~kGateStacks) == 0; }
// Whether the variants' extra checks are all that stands in the way.
inline bool gate_open_but_variants(unsigned gate) noexcept { return (gate & ~(kGateStacks | kGateBootstrapBlocks)) == 0; }
inline void fast_gate_set(unsigned reason, bool shut) noexcept {
    if (shut) g_fast_gate.fetch_or(reason);
    else g_fast_gate.fetch_and(~reason);
}

} // namespace memopt::preload
