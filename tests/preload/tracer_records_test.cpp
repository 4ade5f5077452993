// Records whose meaning needs the reports to check: the tracer core writes them into an
// in-memory sink and summarize_trace reads them back (not in the ThreadSanitizer build,
// which links no reports).
#include "profiler/preload/reentrancy_guard.h"
#include "profiler/preload/tracer.h"
#include "reports/analysis/summary.h"
#include "tests/support/chunk_collector.h"
#include "tests/support/run.h"

#include <catch2/catch.hpp>
#include <thread>

using namespace memopt;
using namespace memopt::preload;

TEST_CASE("a failed release's placeholder and mremap's parked move keep the trace exact") {
    test::begin_in_memory_trace();
    {
        ReentrancyGuard guard;
        // A failed realloc: its release number is filled, the block stays live.
        record_allocation(trace::RecordKind::kMalloc, reinterpret_cast<void*>(0x9000), 100, take_sequence());
        record_placeholder(take_sequence());
        // mremap moves 8 MiB at 0x40000000 to 16 MiB at 0x80000000; between its two numbers
        // another thread maps the range it left (what the real race does).
        constexpr std::size_t kMiB = 1 << 20;
        record_allocation(trace::RecordKind::kMmap, reinterpret_cast<void*>(0x40000000), 8 * kMiB, take_sequence());
        const std::uint64_t release = take_sequence();
        const std::uint64_t other = take_sequence();
        std::thread([&] {
            ReentrancyGuard inner;
            record_allocation(trace::RecordKind::kMmap, reinterpret_cast<void*>(0x40000000), 8 * kMiB, other);
            flush_current_thread();
        }).join();
        record_mremap(reinterpret_cast<void*>(0x40000000), 8 * kMiB, reinterpret_cast<void*>(0x80000000), 16 * kMiB,
                      release, take_sequence());
    }
    test::end_in_memory_trace();
    test::ScratchDir dir("core-placeholder");
    const auto summary = reports::summarize_trace(test::ChunkCollector::save(dir / "t.trace"));
    CHECK(summary.leaked_bytes == 100);
    CHECK(summary.leaked_mapped_bytes == 24u << 20);
    CHECK(summary.warnings.empty());
}
