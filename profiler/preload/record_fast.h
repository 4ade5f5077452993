#pragma once
// The common event, inline in the hooks (shim.cpp): the calling thread has its buffer, the
// buffer has room, its number block (tracer.h) has a number left that still follows the
// chunk's last one, the address is 16-aligned and no stack is wanted. Then the record is a
// few stores into the buffer. Anything else returns false without having written or
// counted anything, and the caller takes the full path (record_allocation, record_release),
// which handles every case. Caller holds the ReentrancyGuard.
#include "profiler/preload/inprocess_api.h"
#include "profiler/preload/reentrancy_guard.h"
#include "profiler/preload/thread_buffer.h"
#include "profiler/preload/tracer.h"
#include "profiler/trace/encoding.h"

namespace memopt::preload {

// Head and size of an allocation-kind record.
inline constexpr std::size_t kMaxFastRecord = 2 * trace::kMaxVarintSize;

// `freed_size`: for kFree, the block's usable size the in-process totals count
// (inprocess_api.h), which the record itself does not carry.
inline bool record_fast(trace::RecordKind kind, const void* address, bool has_size, std::size_t size,
                        std::size_t freed_size = 0) noexcept {
    using namespace trace;
    ThreadBuffer* buffer = t_thread.buffer;
    const auto at = reinterpret_cast<std::uintptr_t>(address);
    if (__builtin_expect(!buffer || (at & ((1u << kAddressShift) - 1)) != 0, false)) return false;
    buffer->owner_enter();
    const std::uint64_t seq = buffer->next_number;
    // The chunk's span is checked when a block is reserved (tracer.cpp), not here.
    const bool fast = buffer->room() >= kMaxFastRecord && seq < buffer->block_end &&
                      g_sequence.value.load(std::memory_order_relaxed) == buffer->block_end &&
                      seq == buffer->last_seq + 1 && buffer->first_seq != kNoSequence;
    if (__builtin_expect(fast, true)) {
        buffer->next_number = seq + 1;
        buffer->last_seq = seq;
        const std::uint64_t units = at >> kAddressShift;
        const auto delta = static_cast<std::int64_t>(units - buffer->last_address);
        buffer->last_address = units;
        std::uint8_t* out = put_varint(buffer->cursor(), record_head(kind, zigzag(delta)));
        if (has_size) out = put_varint(out, size);
        buffer->used = static_cast<std::size_t>(out - buffer->payload());
    }
    buffer->owner_exit();
    // The full path (record_allocation, record_release) counts its own events.
    if (fast) inprocess_note_event(kind, address, kind == RecordKind::kFree ? freed_size : size, seq);
    return fast;
}

// A malloc-family acquisition: also keeps the stack-sampling countdown, which it lowers only
// when no stack is due (the full path draws the next one).
inline bool record_allocation_fast(trace::RecordKind kind, const void* address, std::size_t size) noexcept {
    const std::uint64_t mean = g_tracer_config.stack_sample_bytes;
    if (mean == 0) return record_fast(kind, address, true, size);
    const std::int64_t left = t_thread.bytes_until_sample - static_cast<std::int64_t>(size);
    if (left <= 0 || mean <= 1 || !record_fast(kind, address, true, size)) return false;
    t_thread.bytes_until_sample = left;
    return true;
}

} // namespace memopt::preload
