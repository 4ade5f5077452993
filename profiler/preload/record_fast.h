#pragma once
// The common event, inline in the hooks (shim.cpp): the calling thread has its buffer, the
// buffer's raw window (thread_buffer.h) has room, the address is 16-aligned, no stack is
// wanted and in-process counting is off. Then the event is two stores into the window,
// encoded later by whoever next holds the buffer. Anything else returns false without
// having written or counted anything, and the caller takes the full path
// (record_allocation, record_release), which handles every case. Caller holds the
// ReentrancyGuard.
//
// The number of a raw event is fixed when it is stored (the window's next one), so the
// order argument of tracer.h holds as for any record: the check that no other thread
// reserved numbers since this thread's block (the counter still ends at block_end) is made
// here, per event, after the real call for an acquisition and before it for a release.
#include "profiler/preload/inprocess_api.h"
#include "profiler/preload/reentrancy_guard.h"
#include "profiler/preload/thread_buffer.h"
#include "profiler/preload/tracer.h"

namespace memopt::preload {

// `Gated`: the caller saw the fast gate open (fast_gate.h), which already says in-process
// counting is off and the owner needs no fence of its own.
template <bool Gated = false>
inline bool record_fast(trace::RecordKind kind, const void* address, std::size_t size,
                        ThreadBuffer* buffer = t_thread.buffer) noexcept {
    const auto at = reinterpret_cast<std::uintptr_t>(address);
    if (__builtin_expect((at & ((1u << trace::kAddressShift) - 1)) != 0 ||
                             (!Gated && g_inprocess_enabled.load(std::memory_order_relaxed)),
                         false))
        return false;
    if (__builtin_expect(!(Gated ? buffer->owner_fence_free_enter() : buffer->owner_fast_enter()), false)) return false;
    RawEvent* event = buffer->raw_next;
    const bool fast = event < buffer->raw_end &&
                      g_sequence.value.load(std::memory_order_relaxed) == buffer->block_end;
    if (__builtin_expect(fast, true)) {
        event->word = at + static_cast<std::uint64_t>(kind); // = at | kind (at is 16-aligned): one lea
        if (kind != trace::RecordKind::kFree) event->size = size; // a free's is never read
        buffer->raw_next = event + 1;
    }
    buffer->owner_fast_exit();
    return fast;
}

// A malloc-family acquisition: also keeps the stack-sampling countdown, which it lowers only
// when no stack is due (the full path draws the next one).
template <bool Gated = false>
inline bool record_allocation_fast(trace::RecordKind kind, const void* address, std::size_t size,
                                   ThreadBuffer* buffer = t_thread.buffer) noexcept {
    const std::uint64_t mean = g_tracer_config.stack_sample_bytes;
    if (mean == 0) return record_fast<Gated>(kind, address, size, buffer);
    const std::int64_t left = t_thread.bytes_until_sample - static_cast<std::int64_t>(size);
    if (left <= 0 || mean <= 1 || !record_fast<Gated>(kind, address, size, buffer)) return false;
    t_thread.bytes_until_sample = left;
    return true;
}

template <bool Gated = false>
inline bool record_free_fast(const void* address, ThreadBuffer* buffer = t_thread.buffer) noexcept {
    return record_fast<Gated>(trace::RecordKind::kFree, address, 0, buffer);
}

} // namespace memopt::preload
