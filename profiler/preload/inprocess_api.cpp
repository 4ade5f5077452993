// In-process heap totals and watched blocks (inprocess_api.h). The counting functions run on
// the allocation hot path with the ReentrancyGuard held: no allocation, no unbounded wait.
#include "profiler/preload/fast_gate.h"
#include "profiler/preload/inprocess_api.h"

#include "profiler/preload/stacks.h"
#include "profiler/preload/tracer.h"

#include <algorithm>
#include <cstring>
#include <malloc.h>
#include <pthread.h>

namespace memopt::preload {

std::atomic<bool> g_inprocess_enabled{false};

namespace {

using trace::RecordKind;
constexpr auto kRelaxed = std::memory_order_relaxed;
constexpr std::uint64_t kPage = 4096;

// A lock for the rare paths (mappings, watched blocks). Bounded: the holder may be this very
// thread interrupted by a signal handler, or a thread that vanished in fork; the caller then
// counts the event as missed instead of waiting for ever.
class BoundedSpinLock {
  public:
    bool lock() noexcept {
        for (int attempt = 0; attempt < (1 << 20); ++attempt) {
            if (!held_.load(kRelaxed) && !held_.exchange(true, std::memory_order_acquire)) return true;
            __builtin_ia32_pause();
        }
        return false;
    }
    void unlock() noexcept { held_.store(false, std::memory_order_release); }

  private:
    std::atomic<bool> held_{false};
};

// ---- totals ------------------------------------------------------------------------------

alignas(64) std::atomic<std::int64_t> g_current{0};
alignas(64) std::atomic<std::int64_t> g_peak{0};
std::atomic<std::uint64_t> g_live_mask{0};
std::atomic<std::uint64_t> g_peak_live_mask{0};
std::atomic<std::uint64_t> g_owner_peak_mask{0};
std::atomic<std::uint64_t> g_watch_owner{0}; // pthread_self() of the thread that watches

struct ThreadTotals {
    std::int64_t pending; // not yet folded into g_current
    std::int64_t current;
    std::int64_t peak;
    bool registered;      // the exit key is set, so the pending delta is folded at thread exit
};
__thread ThreadTotals t_totals __attribute__((tls_model("initial-exec"))) = {};

pthread_key_t g_exit_key;
std::atomic<int> g_exit_key_state{0}; // 0 none, 1 creating, 2 ready

void raise_peak(std::int64_t value) noexcept {
    std::int64_t old = g_peak.load(kRelaxed);
    while (value > old) {
        if (g_peak.compare_exchange_weak(old, value, kRelaxed)) {
            g_peak_live_mask.store(g_live_mask.load(kRelaxed), kRelaxed);
            return;
        }
    }
}

void fold() noexcept {
    ThreadTotals& totals = t_totals;
    if (totals.pending == 0) return;
    const std::int64_t now = g_current.fetch_add(totals.pending, kRelaxed) + totals.pending;
    totals.pending = 0;
    raise_peak(now);
}

void fold_at_thread_exit(void*) noexcept { fold(); }

void add(std::int64_t delta) noexcept {
    ThreadTotals& totals = t_totals;
    if (!totals.registered) {
        totals.registered = true;
        // May calloc inside glibc: the guard is held, so that goes straight to the allocator.
        if (g_exit_key_state.load(std::memory_order_acquire) == 2) ::pthread_setspecific(g_exit_key, &totals);
    }
    totals.current += delta;
    if (totals.current > totals.peak) {
        totals.peak = totals.current;
        const std::uint64_t owner = g_watch_owner.load(kRelaxed);
        if (owner != 0 && owner == static_cast<std::uint64_t>(::pthread_self()))
            g_owner_peak_mask.store(g_live_mask.load(kRelaxed), kRelaxed);
    }
    totals.pending += delta;
    // A large block folds at once, so the process peak sees it exactly.
    if (totals.pending >= kFoldBytes || totals.pending <= -kFoldBytes || delta >= kFoldBytes || delta <= -kFoldBytes)
        fold();
}

// ---- anonymous mappings -------------------------------------------------------------------
// Sorted, disjoint [start, end) ranges, each with the number of the event that mapped it: a
// release only removes what was mapped before it (tracer.h: a release takes its number
// before the call), so a racing mmap that got the same range back is not undone.

struct Range {
    std::uint64_t start, end, seq;
};
constexpr std::size_t kMaxRanges = 16384;
Range g_ranges[kMaxRanges];
std::size_t g_range_count = 0;
BoundedSpinLock g_ranges_lock;
std::atomic<std::uint64_t> g_untracked_mappings{0};

std::uint64_t page_up(std::uint64_t value) noexcept { return (value + kPage - 1) & ~(kPage - 1); }

std::size_t first_ending_after(std::uint64_t address) noexcept {
    return static_cast<std::size_t>(
        std::upper_bound(g_ranges, g_ranges + g_range_count, address,
                         [](std::uint64_t a, const Range& r) { return a < r.end; }) - g_ranges);
}

void insert_at(std::size_t index, const Range& range) noexcept {
    std::memmove(g_ranges + index + 1, g_ranges + index, (g_range_count - index) * sizeof(Range));
    g_ranges[index] = range;
    ++g_range_count;
}

void erase_at(std::size_t index) noexcept {
    std::memmove(g_ranges + index, g_ranges + index + 1, (g_range_count - index - 1) * sizeof(Range));
    --g_range_count;
}

// Removes [start, end) from the ranges mapped before `before_seq`; returns the bytes removed.
std::uint64_t remove_range(std::uint64_t start, std::uint64_t end, std::uint64_t before_seq) noexcept {
    std::uint64_t removed = 0;
    std::size_t i = first_ending_after(start);
    while (i < g_range_count && g_ranges[i].start < end) {
        const Range r = g_ranges[i];
        if (r.seq >= before_seq) {
            ++i;
            continue;
        }
        removed += std::min(r.end, end) - std::max(r.start, start);
        const bool keep_left = r.start < start;
        const bool keep_right = r.end > end;
        if (keep_left && keep_right) { // a hole in the middle
            g_ranges[i].end = start;
            if (g_range_count < kMaxRanges) insert_at(i + 1, Range{end, r.end, r.seq});
            else removed += r.end - end, g_untracked_mappings.fetch_add(1, kRelaxed); // no room: drop the tail
            break;
        }
        if (keep_left) g_ranges[i++].end = start;
        else if (keep_right) g_ranges[i++].start = end;
        else erase_at(i);
    }
    return removed;
}

bool insert_range(std::uint64_t start, std::uint64_t end, std::uint64_t seq) noexcept {
    if (g_range_count == kMaxRanges) {
        g_untracked_mappings.fetch_add(1, kRelaxed);
        return false;
    }
    insert_at(first_ending_after(start), Range{start, end, seq});
    return true;
}

// ---- watched blocks -----------------------------------------------------------------------

struct Slot {
    memopt_watched_block block;
    bool used;
};
Slot g_slots[kWatchSlots];
BoundedSpinLock g_slots_lock;
std::atomic<std::uint64_t> g_watch_threshold{0};
std::uint64_t g_generation = 0;
std::atomic<std::uint64_t> g_unwatched{0};
std::atomic<memopt_schedule_fn> g_schedule{nullptr};
memopt_pending_fn g_callback = nullptr;
void* g_callback_arg = nullptr;
std::atomic<bool> g_notice_pending{false};

void notify() noexcept {
    const memopt_schedule_fn schedule = g_schedule.load(std::memory_order_acquire);
    if (!schedule || g_notice_pending.exchange(true)) return;
    if (schedule(g_callback, g_callback_arg) != 0) g_notice_pending.store(false); // queue full: next time
}

void watch(std::uint64_t address, std::uint64_t size) noexcept {
    const std::uint64_t threshold = g_watch_threshold.load(kRelaxed);
    if (threshold == 0 || size < threshold) return;
    std::uintptr_t ips[kWatchedFrames];
    const int depth = capture_stack(ips, kWatchedFrames);
    if (!g_slots_lock.lock()) return static_cast<void>(g_unwatched.fetch_add(1, kRelaxed));
    // A slot is free when its block is gone and no peak mask still names it.
    const std::uint64_t pinned = g_live_mask.load() | g_peak_live_mask.load() | g_owner_peak_mask.load();
    unsigned slot = 0;
    while (slot < kWatchSlots && (pinned & (1ull << slot))) ++slot;
    if (slot == kWatchSlots) {
        g_slots_lock.unlock();
        g_unwatched.fetch_add(1, kRelaxed);
        return;
    }
    memopt_watched_block& block = g_slots[slot].block;
    block.address = address;
    block.size = size;
    block.generation = ++g_generation;
    block.thread = static_cast<std::uint64_t>(::pthread_self());
    block.live = 1;
    block.depth = static_cast<std::uint32_t>(depth > 0 ? depth : 0);
    for (int i = 0; i < depth; ++i) block.frames[i] = ips[i];
    g_slots[slot].used = true;
    g_live_mask.fetch_or(1ull << slot);
    g_slots_lock.unlock();
    notify();
}

// Marks the live watched blocks that start in [start, end) as gone.
void unwatch(std::uint64_t start, std::uint64_t end) noexcept {
    if (g_live_mask.load(kRelaxed) == 0 || !g_slots_lock.lock()) return;
    for (unsigned slot = 0; slot < kWatchSlots; ++slot) {
        memopt_watched_block& block = g_slots[slot].block;
        if (!block.live || block.address < start || block.address >= end) continue;
        block.live = 0;
        g_live_mask.fetch_and(~(1ull << slot));
    }
    g_slots_lock.unlock();
}

bool watching(std::uint64_t size) noexcept {
    const std::uint64_t threshold = g_watch_threshold.load(kRelaxed);
    return threshold != 0 && size >= threshold;
}

} // namespace

std::size_t inprocess_usable_size(const void* block) noexcept {
    return ::malloc_usable_size(const_cast<void*>(block));
}

void inprocess_count_allocation(RecordKind kind, const void* address, std::size_t size, std::uint64_t seq) noexcept {
    const auto start = reinterpret_cast<std::uintptr_t>(address);
    if (kind != RecordKind::kMmap) {
        const std::size_t usable = inprocess_usable_size(address);
        watch(start, usable); // before the count, so the peak mask includes the block
        return add(static_cast<std::int64_t>(usable));
    }
    const std::uint64_t end = page_up(start + size);
    if (!g_ranges_lock.lock()) return static_cast<void>(g_untracked_mappings.fetch_add(1, kRelaxed));
    const std::uint64_t replaced = remove_range(start, end, ~0ull); // MAP_FIXED over a mapping
    const bool tracked = insert_range(start, end, seq);
    g_ranges_lock.unlock();
    if (replaced) unwatch(start, end);
    if (tracked) watch(start, end - start);
    add(static_cast<std::int64_t>(tracked ? end - start : 0) - static_cast<std::int64_t>(replaced));
}

void inprocess_count_release(RecordKind kind, const void* address, std::size_t size, std::uint64_t seq) noexcept {
    const auto start = reinterpret_cast<std::uintptr_t>(address);
    if (size == 0 || start == 0) return;
    if (kind != RecordKind::kMunmap) {
        if (watching(size)) unwatch(start, start + 1);
        return add(-static_cast<std::int64_t>(size));
    }
    const std::uint64_t end = page_up(start + size);
    if (!g_ranges_lock.lock()) return static_cast<void>(g_untracked_mappings.fetch_add(1, kRelaxed));
    const std::uint64_t removed = remove_range(start, end, seq);
    g_ranges_lock.unlock();
    if (!removed) return;
    unwatch(start, end);
    add(-static_cast<std::int64_t>(removed));
}

void inprocess_count_mremap(const void* old_address, std::size_t old_length, const void* new_address,
                            std::size_t new_length, std::uint64_t release_seq, std::uint64_t acquire_seq) noexcept {
    const auto old_start = reinterpret_cast<std::uintptr_t>(old_address);
    const auto new_start = reinterpret_cast<std::uintptr_t>(new_address);
    const std::uint64_t new_end = page_up(new_start + new_length);
    if (!g_ranges_lock.lock()) return static_cast<void>(g_untracked_mappings.fetch_add(1, kRelaxed));
    const std::uint64_t removed = remove_range(old_start, page_up(old_start + old_length), release_seq);
    std::uint64_t replaced = 0;
    bool tracked = false;
    if (removed) { // an anonymous mapping moved or grew; a file mapping stays uncounted
        replaced = remove_range(new_start, new_end, ~0ull);
        tracked = insert_range(new_start, new_end, acquire_seq);
    }
    g_ranges_lock.unlock();
    if (!removed) return;
    unwatch(old_start, page_up(old_start + old_length));
    if (tracked) watch(new_start, new_end - new_start);
    add(static_cast<std::int64_t>(tracked ? new_end - new_start : 0) - static_cast<std::int64_t>(removed + replaced));
}

} // namespace memopt::preload

using namespace memopt::preload;

extern "C" {

__attribute__((visibility("default"))) int memopt_inprocess_enable(void) noexcept {
    int expected = 0;
    if (g_exit_key_state.compare_exchange_strong(expected, 1))
        g_exit_key_state.store(::pthread_key_create(&g_exit_key, fold_at_thread_exit) == 0 ? 2 : 0);
    fast_gate_set(kGateInprocess, true); // the inline path does not count
    g_inprocess_enabled.store(true);
    return tracer_active() ? 1 : 0;
}

__attribute__((visibility("default"))) void memopt_heap_stats(std::int64_t* current, std::int64_t* peak) noexcept {
    fold();
    if (current) *current = g_current.load();
    if (peak) *peak = g_peak.load();
}

__attribute__((visibility("default"))) void memopt_reset_peak(void) noexcept {
    fold();
    const std::uint64_t live = g_live_mask.load();
    g_peak.store(g_current.load());
    g_peak_live_mask.store(live);
    t_totals.peak = t_totals.current;
    g_owner_peak_mask.store(live);
}

__attribute__((visibility("default"))) void memopt_read_heap_totals(memopt_heap_totals* out) noexcept {
    fold();
    out->current = g_current.load();
    out->peak = std::max(g_peak.load(), out->current);
    out->thread_current = t_totals.current;
    out->thread_peak = t_totals.peak;
    out->live_mask = g_live_mask.load();
    out->peak_live_mask = g_peak_live_mask.load();
    out->thread_peak_live_mask = g_owner_peak_mask.load();
    out->untracked_mappings = g_untracked_mappings.load();
    out->unwatched_blocks = g_unwatched.load();
}

__attribute__((visibility("default"))) void memopt_watch_blocks(std::uint64_t threshold, memopt_schedule_fn schedule,
                                                                memopt_pending_fn callback, void* arg) noexcept {
    g_watch_threshold.store(0);
    g_schedule.store(nullptr, std::memory_order_release);
    if (!g_slots_lock.lock()) return;
    for (Slot& slot : g_slots) slot = Slot{};
    g_live_mask.store(0);
    g_peak_live_mask.store(0);
    g_owner_peak_mask.store(0);
    g_unwatched.store(0);
    g_slots_lock.unlock();
    if (threshold == 0) return g_watch_owner.store(0);
    g_callback = callback;
    g_callback_arg = arg;
    g_notice_pending.store(false);
    g_watch_owner.store(static_cast<std::uint64_t>(::pthread_self()));
    g_schedule.store(schedule, std::memory_order_release);
    g_watch_threshold.store(threshold);
}

__attribute__((visibility("default"))) void memopt_watch_acknowledge(void) noexcept { g_notice_pending.store(false); }

__attribute__((visibility("default"))) int memopt_read_watched_slot(unsigned slot, memopt_watched_block* out) noexcept {
    if (slot >= kWatchSlots || !g_slots_lock.lock()) return 0;
    const bool used = g_slots[slot].used;
    if (used) *out = g_slots[slot].block;
    g_slots_lock.unlock();
    return used ? 1 : 0;
}

} // extern "C"
