#pragma once
// In-process heap totals of the traced program, read by the program itself: the pytest
// plugin (python/memopt/pytest) asks for the heap's current size and high-water mark at the
// start and end of each test through ctypes, so a verdict needs no trace read-back.
//
// What is counted: the malloc family by malloc_usable_size (what the allocator handed out,
// at least the requested size: both the allocation and the free count the same number, so
// the totals stay exact without a size table), and anonymous mmap/munmap/mremap by page-
// rounded length, through a table of the anonymous ranges (munmap of a file mapping must not
// count). Counting starts at memopt_inprocess_enable(); numbers are relative to that moment
// (a free of an older block makes them go down, which is right: the heap shrank).
//
// Cost: until enabled, one relaxed load per event. Enabled, a malloc_usable_size call per
// free and allocation and a few thread-local additions. Each thread folds its running delta
// into the process-wide counter once it reaches kFoldBytes in either direction (and at every
// block of kFoldBytes or more), so the process total lags the truth by less than kFoldBytes
// per thread: the reported peak is within (threads x kFoldBytes) of the true high-water
// mark, and exact for a single thread to within kFoldBytes. The calling thread's own totals
// (memopt_read_heap_totals: thread_*) are exact.
//
// Watched blocks: between memopt_watch_blocks(threshold, ...) and memopt_watch_blocks(0, ...),
// each block of `threshold` bytes or more is put in one of kWatchSlots slots with its native
// stack, and a bit mask says which slots are live now and which were live at the high-water
// mark (process-wide and of the watching thread). The program is told of a new slot through
// the schedule function it gave (Py_AddPendingCall: its callback runs in the main thread at
// the next safe point, where Python code may run and name the allocating Python line).
// Nothing is called on the hot path but that function, once per batch of new slots.
#include "profiler/trace/format.h"

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace memopt::preload {

inline constexpr std::int64_t kFoldBytes = 64 * 1024;
inline constexpr unsigned kWatchSlots = 64;
inline constexpr int kWatchedFrames = 16;

extern std::atomic<bool> g_inprocess_enabled;

void inprocess_count_allocation(trace::RecordKind kind, const void* address, std::size_t size,
                                std::uint64_t seq) noexcept;
void inprocess_count_release(trace::RecordKind kind, const void* address, std::size_t size,
                             std::uint64_t seq) noexcept;
void inprocess_count_mremap(const void* old_address, std::size_t old_length, const void* new_address,
                            std::size_t new_length, std::uint64_t release_seq, std::uint64_t acquire_seq) noexcept;
std::size_t inprocess_usable_size(const void* block) noexcept;

// Hot-path entry points (tracer.cpp, shim.cpp; the caller holds the ReentrancyGuard).
inline void inprocess_note_allocation(trace::RecordKind kind, const void* address, std::size_t size,
                                      std::uint64_t seq) noexcept {
    if (g_inprocess_enabled.load(std::memory_order_relaxed)) inprocess_count_allocation(kind, address, size, seq);
}
// `size`: the block's usable size for kFree (inprocess_block_size, taken before the real
// free), the length for kMunmap.
inline void inprocess_note_release(trace::RecordKind kind, const void* address, std::size_t size,
                                   std::uint64_t seq) noexcept {
    if (g_inprocess_enabled.load(std::memory_order_relaxed)) inprocess_count_release(kind, address, size, seq);
}
inline void inprocess_note_mremap(const void* old_address, std::size_t old_length, const void* new_address,
                                  std::size_t new_length, std::uint64_t release_seq,
                                  std::uint64_t acquire_seq) noexcept {
    if (g_inprocess_enabled.load(std::memory_order_relaxed))
        inprocess_count_mremap(old_address, old_length, new_address, new_length, release_seq, acquire_seq);
}
// An allocation-kind event, or a kFree/kMunmap release, as the fast path writes it
// (record_fast.h): `size` as for the two functions above.
inline void inprocess_note_event(trace::RecordKind kind, const void* address, std::size_t size,
                                 std::uint64_t seq) noexcept {
    if (!g_inprocess_enabled.load(std::memory_order_relaxed)) return;
    if (kind == trace::RecordKind::kFree || kind == trace::RecordKind::kMunmap) inprocess_count_release(kind, address, size, seq);
    else inprocess_count_allocation(kind, address, size, seq);
}
// The size a later free of `block` will count: 0 while counting is off.
inline std::size_t inprocess_block_size(const void* block) noexcept {
    return g_inprocess_enabled.load(std::memory_order_relaxed) ? inprocess_usable_size(block) : 0;
}

} // namespace memopt::preload

// The C API (exported from libmemopt_preload.so; python/memopt/_inprocess.py binds it).
extern "C" {

struct memopt_heap_totals {
    std::int64_t current;          // process heap, bytes, relative to memopt_inprocess_enable
    std::int64_t peak;             // its high-water mark since the last memopt_reset_peak
    std::int64_t thread_current;   // the same for the calling thread's own allocations and frees
    std::int64_t thread_peak;
    std::uint64_t live_mask;       // watched slots live now
    std::uint64_t peak_live_mask;  // watched slots live at `peak`
    std::uint64_t thread_peak_live_mask; // watched slots live at the watching thread's `thread_peak`
    std::uint64_t untracked_mappings;    // anonymous mappings the range table had no room for
    std::uint64_t unwatched_blocks;      // blocks over the threshold that found no free slot
};

struct memopt_watched_block {
    std::uint64_t address;
    std::uint64_t size;
    std::uint64_t generation; // 1, 2, 3... in the order the slots were filled
    std::uint64_t thread;     // pthread_self() of the allocating thread (Python's thread ident)
    std::uint32_t live;
    std::uint32_t depth;      // native frames in `frames`, innermost first
    std::uint64_t frames[memopt::preload::kWatchedFrames];
};

typedef int (*memopt_pending_fn)(void*);
typedef int (*memopt_schedule_fn)(memopt_pending_fn, void*);

// Starts counting; returns 1 when the tracer is recording (the counts are meaningful).
int memopt_inprocess_enable(void) noexcept;
void memopt_heap_stats(std::int64_t* current, std::int64_t* peak) noexcept;
// Peak := current, process-wide and for the calling thread; the peak masks := the live mask.
void memopt_reset_peak(void) noexcept;
void memopt_read_heap_totals(struct memopt_heap_totals* out) noexcept;
// threshold > 0: empties the slots and watches blocks of that size from the calling thread's
// point of view (its thread peak mask); `schedule(callback, arg)` is called when slots were
// filled and memopt_watch_acknowledge was not called since. threshold 0: stops watching.
void memopt_watch_blocks(std::uint64_t threshold, memopt_schedule_fn schedule, memopt_pending_fn callback,
                         void* arg) noexcept;
// Re-arms the notification; call it before reading the slots.
void memopt_watch_acknowledge(void) noexcept;
// 1 and the slot's contents when slot < kWatchSlots has been filled since watching began.
int memopt_read_watched_slot(unsigned slot, struct memopt_watched_block* out) noexcept;

} // extern "C"
