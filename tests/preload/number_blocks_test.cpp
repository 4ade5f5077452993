// Sequence numbers in per-thread blocks (tracer.h): whatever blocks the threads hold, an
// event that happened after another thread's event reads after it.
#include "profiler/preload/reentrancy_guard.h"
#include "profiler/preload/tracer.h"
#include "profiler/trace/reader.h"
#include "tests/support/chunk_collector.h"
#include "tests/support/run.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

using namespace memopt;
using namespace memopt::preload;

TEST_CASE("a block passed between threads is freed before it is allocated again, in the trace") {
    test::begin_in_memory_trace();
    constexpr int kRounds = 3000;
    constexpr std::uintptr_t kShared = 0x5000;
    std::atomic<int> turn{0};
    auto player = [&](int me) {
        ReentrancyGuard guard;
        const std::uintptr_t own = 0x900000 + static_cast<std::uintptr_t>(me) * 0x10000;
        for (int round = 0; round < kRounds; ++round) {
            while (turn.load(std::memory_order_acquire) != me) std::this_thread::yield();
            record_allocation(trace::RecordKind::kMalloc, reinterpret_cast<void*>(kShared), 64);
            for (int i = 0; i < round % 5; ++i) { // own events: blocks used up unevenly
                record_allocation(trace::RecordKind::kMalloc, reinterpret_cast<void*>(own), 16);
                record_release(trace::RecordKind::kFree, reinterpret_cast<void*>(own), 0);
            }
            record_release(trace::RecordKind::kFree, reinterpret_cast<void*>(kShared), 0);
            turn.store(1 - me, std::memory_order_release);
        }
    };
    std::thread first(player, 0), second(player, 1);
    first.join();
    second.join();
    test::end_in_memory_trace();

    test::ScratchDir dir("number-blocks");
    trace::TraceReader reader(test::ChunkCollector::save(dir / "t.trace"));
    trace::Event event;
    int shared_events = 0, out_of_turn = 0;
    bool live = false;
    std::uint32_t holder = 0;
    std::uint64_t expected_seq = 0;
    bool dense = true;
    while (reader.next(event)) {
        dense &= event.seq == expected_seq++;
        if (event.address != kShared) continue;
        ++shared_events;
        if (event.type == trace::EventType::kAllocation) {
            out_of_turn += live; // allocated again while the trace still has it live
            live = true;
            holder = event.tid;
        } else {
            out_of_turn += !live || event.tid != holder;
            live = false;
        }
    }
    CHECK(shared_events == 2 * 2 * kRounds);
    CHECK(out_of_turn == 0);
    CHECK(dense); // the numbers given back are left out
    CHECK(reader.missing_events() == 0);
}
