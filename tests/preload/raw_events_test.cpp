// The inline path's raw events (thread_buffer.h, record_fast.h) are encoded later, by
// whoever next holds the buffer: what the reader gets back must be exactly the events, in
// their order, whatever mix of raw and full-path records (unaligned addresses, numbers
// taken ahead) the chunk holds.
#include "profiler/preload/reentrancy_guard.h"
#include "profiler/preload/thread_buffer.h"
#include "profiler/preload/tracer.h"
#include "profiler/trace/reader.h"
#include "tests/support/chunk_collector.h"
#include "tests/support/run.h"

#include <catch2/catch.hpp>
#include <vector>

using namespace memopt;
using namespace memopt::preload;

namespace {

struct Expected {
    trace::RecordKind kind;
    std::uint64_t address;
    std::uint64_t size;
};

} // namespace

TEST_CASE("raw events read back exactly: deltas both ways and small ones, one- to six-byte sizes, short-lived and older frees") {
    test::begin_in_memory_trace();
    std::vector<Expected> expected;
    std::vector<std::uint64_t> live;
    std::size_t raw_events = 0;
    {
        ReentrancyGuard guard;
        std::uint64_t state = 12345;
        auto next = [&] { return state = state * 6364136223846793005ull + 1442695040888963407ull; };
        constexpr trace::RecordKind kKinds[] = {trace::RecordKind::kMalloc, trace::RecordKind::kCalloc,
                                                trace::RecordKind::kRealloc, trace::RecordKind::kAligned};
        constexpr std::uint64_t kSizes[] = {1, 100, 127, 128, 16383, 16384, 3'000'000, 1ull << 40};
        for (int i = 0; i < 20000; ++i) {
            const std::uint64_t pick = next() >> 33;
            const RawEvent* before = t_thread.buffer->raw_next;
            if (pick % 3 != 0 || live.empty()) {
                // 16-aligned mostly (raw), now and then only 8-aligned (the full path), and
                // now and then 0 to 7 units above the previous event's (one-byte heads).
                std::uint64_t address = 0x100000000ull + (next() >> 40) * (pick % 17 == 0 ? 8 : 16);
                if (pick % 5 == 0 && !expected.empty()) address = expected.back().address + 16 * ((pick >> 7) % 8);
                const auto kind = kKinds[pick % 4];
                const std::uint64_t size = kSizes[(pick >> 3) % 8];
                record_allocation(kind, reinterpret_cast<void*>(address), size);
                expected.push_back({kind, address, size});
                live.push_back(address);
            } else {
                // The block just allocated (delta 0), or an older one.
                const std::size_t which = pick % 2 ? live.size() - 1 : (pick >> 4) % live.size();
                const std::uint64_t address = live[which];
                live.erase(live.begin() + static_cast<std::ptrdiff_t>(which));
                if (pick % 11 == 0) record_release(trace::RecordKind::kFree, reinterpret_cast<void*>(address), 0, take_sequence());
                else record_release(trace::RecordKind::kFree, reinterpret_cast<void*>(address), 0);
                expected.push_back({trace::RecordKind::kFree, address, 0});
            }
            raw_events += t_thread.buffer->raw_next > before;
        }
    }
    test::end_in_memory_trace();
    CHECK(raw_events > expected.size() / 2); // the raw path was taken, not only the full one

    test::ScratchDir dir("raw-events");
    trace::TraceReader reader(test::ChunkCollector::save(dir / "t.trace"));
    trace::Event event;
    std::size_t index = 0, mismatches = 0;
    std::uint64_t previous_seq = 0;
    bool increasing = true;
    while (reader.next(event)) {
        if (event.type != trace::EventType::kAllocation && event.type != trace::EventType::kFree) continue;
        REQUIRE(index < expected.size());
        const Expected& want = expected[index++];
        const bool is_free = want.kind == trace::RecordKind::kFree;
        const bool same = is_free ? event.type == trace::EventType::kFree && event.address == want.address
                                  : event.type == trace::EventType::kAllocation && event.kind == want.kind &&
                                        event.address == want.address && event.size == want.size;
        if (!same && mismatches++ < 5) FAIL_CHECK("event " << index - 1 << " differs: address " << event.address);
        increasing &= index == 1 || event.seq > previous_seq;
        previous_seq = event.seq;
    }
    CHECK(index == expected.size());
    CHECK(mismatches == 0);
    CHECK(increasing);
    CHECK(reader.missing_events() == 0);
}
