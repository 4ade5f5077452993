// The tracer core driven directly, with an in-memory sink: no preloading involved.
#include "profiler/preload/bootstrap_allocator.h"
#include "profiler/preload/fast_gate.h"
#include "profiler/preload/reentrancy_guard.h"
#include "profiler/preload/sink.h"
#include "profiler/preload/thread_buffer.h"
#include "profiler/preload/tracer.h"
#include "profiler/trace/chunk_builder.h"
#include "profiler/trace/reader.h"
#include "tests/support/chunk_collector.h"
#include "tests/support/run.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <mutex>
#include <thread>

using namespace memopt;
using namespace memopt::preload;

namespace {

bool refuse(const std::uint8_t*, std::size_t) noexcept { return false; }

void churn(std::uint64_t base, int count) {
    ReentrancyGuard guard;
    for (int i = 0; i < count; ++i) {
        const std::uint64_t address = base + static_cast<std::uint64_t>(i) * 48;
        record_allocation(trace::RecordKind::kMalloc, reinterpret_cast<void*>(address), 32, take_sequence());
        const std::uint64_t seq = take_sequence();
        record_release(trace::RecordKind::kFree, reinterpret_cast<void*>(address), 0, seq);
    }
}

__attribute__((noinline)) void allocate_with_stack() {
    ReentrancyGuard guard;
    record_allocation(trace::RecordKind::kMalloc, reinterpret_cast<void*>(0x7000), 4096, take_sequence());
}

} // namespace

TEST_CASE("events from several threads come back complete and in order") {
    test::begin_in_memory_trace();
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t) threads.emplace_back(churn, 0x10000000ull * (t + 1), 20000);
    for (auto& thread : threads) thread.join();
    record_phase(true, "after");
    test::end_in_memory_trace();

    test::ScratchDir dir("core");
    trace::TraceReader reader(test::ChunkCollector::save(dir / "core.trace"));
    trace::Event event;
    std::uint64_t expected = 0, allocations = 0, frees = 0;
    bool ordered = true;
    while (reader.next(event)) {
        ordered &= event.seq == expected++;
        allocations += event.type == trace::EventType::kAllocation;
        frees += event.type == trace::EventType::kFree;
    }
    CHECK(ordered);
    CHECK(allocations == 60000);
    CHECK(frees == 60000);
    CHECK(reader.missing_events() == 0);
    CHECK(reader.metadata().names == std::vector<std::string>{"after"});
    // The encoding stays compact: nearby addresses cost a few bytes an event.
    CHECK(static_cast<double>(test::ChunkCollector::size()) / 120000.0 < 4.0);
}

TEST_CASE("sampled stacks are interned into frames and modules") {
    test::begin_in_memory_trace({1, 10});
    volatile int calls = 2; // volatile: the loop must not be unrolled into two call sites
    for (int i = 0; i < calls; ++i) allocate_with_stack();
    test::end_in_memory_trace();

    test::ScratchDir dir("core-stacks");
    trace::TraceReader reader(test::ChunkCollector::save(dir / "core.trace"));
    trace::Event event;
    std::vector<std::uint64_t> stacks;
    while (reader.next(event)) stacks.push_back(event.stack);
    REQUIRE(stacks.size() == 2);
    CHECK(stacks[0] != 0);
    CHECK(stacks[0] == stacks[1]); // the same call site is one trie leaf
    CHECK(!reader.metadata().frames.empty());
    CHECK(!reader.metadata().modules.empty());
}

TEST_CASE("configuring stacks sets the gate bit that sends malloc and calloc to their sampled variant") {
    TracerConfig config;
    config.stack_sample_bytes = 4096;
    tracer_configure(config);
    CHECK((g_fast_gate.load() & kGateStacks) != 0);
    CHECK_FALSE(acquisition_gate_open(kGateStacks));
    CHECK(free_gate_open(kGateStacks)); // free keeps no countdown
    tracer_configure({});
    CHECK((g_fast_gate.load() & kGateStacks) == 0);
}

TEST_CASE("a failing sink turns the tracer off instead of hurting the program") {
    sink_use_writer(refuse);
    tracer_configure({});
    tracer_set_active(true);
    {
        ReentrancyGuard guard;
        for (int i = 0; i < 200000 && tracer_active(); ++i)
            record_allocation(trace::RecordKind::kMalloc, reinterpret_cast<void*>(0x1000), 8, take_sequence());
    }
    CHECK_FALSE(tracer_active());
    tracer_set_active(true); // stays off for good
    CHECK_FALSE(tracer_active());
}

TEST_CASE("the bootstrap arena serves dlsym's early requests") {
    // free's inline path skips the arena test while the gate says it has no blocks; the
    // acquisitions do not care.
    void* a = bootstrap_allocate(100);
    CHECK((g_fast_gate.load() & kGateBootstrapBlocks) != 0);
    CHECK_FALSE(free_gate_open(kGateBootstrapBlocks));
    CHECK(acquisition_gate_open(kGateBootstrapBlocks));
    CHECK(gate_open_but_variants(kGateBootstrapBlocks | kGateStacks));
    CHECK_FALSE(gate_open_but_variants(kGateBootstrapBlocks | kGateInactive));
    void* b = bootstrap_allocate(10);
    REQUIRE(a);
    REQUIRE(b);
    CHECK(is_bootstrap_block(a));
    CHECK(is_bootstrap_block(b));
    CHECK(bootstrap_block_size(a) == 100);
    CHECK(reinterpret_cast<std::uintptr_t>(a) % 16 == 0);
    CHECK(static_cast<char*>(b) >= static_cast<char*>(a) + 100);
    int on_stack = 0;
    CHECK_FALSE(is_bootstrap_block(&on_stack));
}

TEST_CASE("the reentrancy guard only lets the outermost entry record") {
    ReentrancyGuard outer;
    CHECK(outer.entered());
    {
        ReentrancyGuard inner;
        CHECK_FALSE(inner.entered());
    }
    CHECK(thread_inside_tracer());
}
