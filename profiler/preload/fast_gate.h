#pragma once
// One word the hooks test before anything else: zero when the inline path (shim.cpp,
// record_fast.h) may run without checking its preconditions one by one. Each bit is one
// reason it may not, set and cleared on its own by the code that changes that condition,
// so concurrent changes never leave a stale zero. With the gate shut the hooks take their
// general path, which checks everything (and is the only path before the first lookup).
#include <atomic>

namespace memopt::preload {

inline constexpr unsigned kGateNotLookedUp = 1;  // the real functions are not known yet
inline constexpr unsigned kGateInactive = 2;     // the tracer is off (tracer_set_active)
inline constexpr unsigned kGateInprocess = 4;    // in-process totals count every event
inline constexpr unsigned kGateOwnerFences = 8;  // no membarrier: owners fence themselves

extern std::atomic<unsigned> g_fast_gate;

inline bool fast_gate_open() noexcept { return g_fast_gate.load(std::memory_order_relaxed) == 0; }
inline void fast_gate_set(unsigned reason, bool shut) noexcept {
    if (shut) g_fast_gate.fetch_or(reason);
    else g_fast_gate.fetch_and(~reason);
}

} // namespace memopt::preload
