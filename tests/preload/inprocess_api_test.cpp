// The in-process heap totals (profiler/preload/inprocess_api.h) driven directly: real malloc
// blocks for the malloc family (their usable size is read), made-up addresses for mappings
// (only the range table sees them). The counting calls stand in for the tracer's hooks.
#include "profiler/preload/inprocess_api.h"
#include "profiler/preload/reentrancy_guard.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <malloc.h>
#include <thread>
#include <vector>

using namespace memopt::preload;
using memopt::trace::RecordKind;

namespace {

constexpr std::uint64_t kPage = 4096;

memopt_heap_totals totals() {
    memopt_heap_totals out{};
    memopt_read_heap_totals(&out);
    return out;
}

std::int64_t current() { return totals().current; }

void* map_at(std::uint64_t address) { return reinterpret_cast<void*>(address); }

struct Enabled {
    Enabled() { memopt_inprocess_enable(); }
    ~Enabled() { memopt_watch_blocks(0, nullptr, nullptr, nullptr); }
};

int g_scheduled = 0;
int count_schedule(memopt_pending_fn, void*) { return ++g_scheduled, 0; }

} // namespace

TEST_CASE("in-process totals count malloc blocks by usable size, frees take the same off") {
    Enabled enabled;
    ReentrancyGuard guard;
    const std::int64_t before = current();
    memopt_reset_peak();
    void* block = std::malloc(300000);
    const auto usable = static_cast<std::int64_t>(malloc_usable_size(block));
    inprocess_count_allocation(RecordKind::kMalloc, block, 300000, 1);
    CHECK(current() - before == usable);
    inprocess_count_release(RecordKind::kFree, block, inprocess_usable_size(block), 2);
    std::free(block);
    const memopt_heap_totals after = totals();
    CHECK(after.current == before);
    CHECK(after.peak - before == usable);           // a block this large folds at once: exact
    CHECK(after.thread_peak - after.thread_current == usable);
}

TEST_CASE("in-process totals: anonymous ranges, partial munmap, holes, MAP_FIXED and late releases") {
    Enabled enabled;
    ReentrancyGuard guard;
    const std::int64_t before = current();
    const std::uint64_t base = 0x100000000000ull;
    inprocess_count_allocation(RecordKind::kMmap, map_at(base), 10 * kPage - 100, 10); // rounded up to pages
    CHECK(current() - before == 10 * kPage);
    inprocess_count_release(RecordKind::kMunmap, map_at(base + 4 * kPage), 2 * kPage, 11); // a hole
    CHECK(current() - before == 8 * kPage);
    inprocess_count_release(RecordKind::kMunmap, map_at(0x200000000000ull), 64 * kPage, 12); // a file mapping
    CHECK(current() - before == 8 * kPage);
    inprocess_count_allocation(RecordKind::kMmap, map_at(base), 2 * kPage, 13); // MAP_FIXED over the head
    CHECK(current() - before == 8 * kPage);
    // A release numbered before a mapping of the same range (a racing munmap) leaves it alone.
    inprocess_count_release(RecordKind::kMunmap, map_at(base), 2 * kPage, 12);
    CHECK(current() - before == 8 * kPage);
    inprocess_count_release(RecordKind::kMunmap, map_at(base), 10 * kPage, 14);
    CHECK(current() == before);
}

TEST_CASE("in-process totals: mremap moves an anonymous range and ignores a file mapping") {
    Enabled enabled;
    ReentrancyGuard guard;
    const std::int64_t before = current();
    const std::uint64_t old_base = 0x110000000000ull, new_base = 0x120000000000ull;
    inprocess_count_allocation(RecordKind::kMmap, map_at(old_base), 4 * kPage, 20);
    inprocess_count_mremap(map_at(old_base), 4 * kPage, map_at(new_base), 16 * kPage, 21, 22);
    CHECK(current() - before == 16 * kPage);
    inprocess_count_mremap(map_at(0x130000000000ull), 4 * kPage, map_at(0x140000000000ull), 8 * kPage, 23, 24);
    CHECK(current() - before == 16 * kPage);
    inprocess_count_release(RecordKind::kMunmap, map_at(old_base), 4 * kPage, 25); // gone from there
    CHECK(current() - before == 16 * kPage);
    inprocess_count_release(RecordKind::kMunmap, map_at(new_base), 16 * kPage, 26);
    CHECK(current() == before);
}

TEST_CASE("in-process totals: the process peak stays within kFoldBytes per thread of the truth") {
    Enabled enabled;
    const std::int64_t before = current();
    memopt_reset_peak();
    constexpr int kThreads = 4, kBlocks = 2000;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([] {
            ReentrancyGuard guard;
            std::vector<void*> blocks;
            for (int i = 0; i < kBlocks; ++i) {
                blocks.push_back(std::malloc(100));
                inprocess_count_allocation(RecordKind::kMalloc, blocks.back(), 100, 0);
            }
            for (void* block : blocks) {
                inprocess_count_release(RecordKind::kFree, block, inprocess_usable_size(block), 0);
                std::free(block);
            }
        });
    for (auto& thread : threads) thread.join();
    const memopt_heap_totals after = totals();
    CHECK(after.current == before); // each exiting thread folded what it had pending
    const std::int64_t one_thread = kBlocks * static_cast<std::int64_t>(104); // usable size of malloc(100)
    CHECK(after.peak - before >= one_thread - kFoldBytes);
    CHECK(after.peak - before <= kThreads * (one_thread + kFoldBytes));
}

TEST_CASE("watched blocks: which were live at the high-water mark, one notice until acknowledged") {
    Enabled enabled;
    ReentrancyGuard guard;
    g_scheduled = 0;
    memopt_watch_blocks(1 << 20, count_schedule, nullptr, nullptr);
    memopt_reset_peak();
    void* big = std::malloc(8 << 20);
    const std::size_t big_usable = malloc_usable_size(big);
    inprocess_count_allocation(RecordKind::kMalloc, big, 8 << 20, 0);
    void* small = std::malloc(4096); // under the threshold: not watched
    inprocess_count_allocation(RecordKind::kMalloc, small, 4096, 0);
    inprocess_count_release(RecordKind::kFree, big, inprocess_usable_size(big), 0);
    std::free(big);
    void* second = std::malloc(2 << 20);
    inprocess_count_allocation(RecordKind::kMalloc, second, 2 << 20, 0);
    CHECK(g_scheduled == 1); // not acknowledged in between
    const memopt_heap_totals now = totals();
    CHECK(now.peak_live_mask == 1u);   // slot 0, the 8 MiB block, held the peak
    CHECK(now.live_mask == 2u);        // slot 1, the 2 MiB block, is live now
    memopt_watched_block block{};
    REQUIRE(memopt_read_watched_slot(0, &block) == 1);
    CHECK(block.size == big_usable);
    CHECK(block.live == 0);
    CHECK(block.depth > 0);
    REQUIRE(memopt_read_watched_slot(1, &block) == 1);
    CHECK(block.generation == 2);
    CHECK(memopt_read_watched_slot(2, &block) == 0);
    memopt_watch_acknowledge();
    void* third = std::malloc(2 << 20);
    inprocess_count_allocation(RecordKind::kMalloc, third, 2 << 20, 0);
    CHECK(g_scheduled == 2);
    for (void* block_left : {small, second, third}) {
        inprocess_count_release(RecordKind::kFree, block_left, inprocess_usable_size(block_left), 0);
        std::free(block_left);
    }
}
