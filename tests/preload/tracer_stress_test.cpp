// The tracer core under contention, as in a 16-thread program: threads allocate, start and
// end while a sampler-like thread records RSS and flushes every buffer. Built normally and,
// with MEMOPT_TSAN, under ThreadSanitizer (the point of this test).
#include "profiler/preload/reentrancy_guard.h"
#include "profiler/preload/sink.h"
#include "profiler/preload/thread_buffer.h"
#include "profiler/preload/tracer.h"
#include "profiler/trace/chunk_builder.h"
#include "profiler/trace/reader.h"
#include "tests/support/chunk_collector.h"
#include "tests/support/run.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <mutex>
#include <thread>

using namespace memopt;
using namespace memopt::preload;

namespace {

void churn(std::uint64_t base, int count) {
    ReentrancyGuard guard;
    for (int i = 0; i < count; ++i) {
        const std::uint64_t address = base + static_cast<std::uint64_t>(i % 1000) * 64;
        record_allocation(trace::RecordKind::kMalloc, reinterpret_cast<void*>(address), 48, take_sequence());
        record_release(trace::RecordKind::kFree, reinterpret_cast<void*>(address), 0, take_sequence());
    }
    flush_current_thread();
    release_current_thread_buffer();
}

} // namespace

TEST_CASE("16 threads (two waves) allocate while another thread samples and flushes") {
    test::begin_in_memory_trace();
    std::atomic<bool> stop{false};
    std::thread sampler([&] {
        ReentrancyGuard guard;
        while (!stop.load()) {
            record_rss(100);
            flush_all_buffers(false);
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
    });
    constexpr int kPerThread = 5000;
    for (int wave = 0; wave < 2; ++wave) {
        std::vector<std::thread> threads;
        for (int t = 0; t < 8; ++t) threads.emplace_back(churn, 0x10000000ull * (wave * 8 + t + 1), kPerThread);
        for (auto& thread : threads) thread.join();
    }
    stop = true;
    sampler.join();
    test::end_in_memory_trace();

    test::ScratchDir dir("tracer-stress");
    trace::TraceReader reader(test::ChunkCollector::save(dir / "t.trace"));
    trace::Event event;
    std::uint64_t allocations = 0, frees = 0, last_seq = 0;
    bool ordered = true;
    while (reader.next(event)) {
        if (event.type == trace::EventType::kAllocation) ++allocations;
        if (event.type == trace::EventType::kFree) ++frees;
        if (event.type == trace::EventType::kAllocation || event.type == trace::EventType::kFree) {
            if (event.seq < last_seq) ordered = false;
            last_seq = event.seq;
        }
    }
    CHECK(allocations == 16u * kPerThread);
    CHECK(frees == 16u * kPerThread);
    CHECK(ordered);
    CHECK(reader.missing_events() == 0);
    CHECK(reader.metadata().threads >= 16);
    sink_use_writer(nullptr);
}
