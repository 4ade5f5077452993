// The reader's reordering window (TraceReader::kReorderWindow): events wait for an earlier
// number up to that many; past it the gap is given up on, and numbers that arrive later are
// handed out late and counted (TraceMetadata::late_events), never silently.
#include "profiler/trace/chunk_builder.h"
#include "profiler/trace/reader.h"
#include "tests/support/run.h"
#include "tests/trace/trace_bytes.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <random>

using namespace memopt::trace;
using memopt::test::ScratchDir;
using namespace memopt::trace::test;

namespace {

constexpr std::uint64_t kPastWindow = TraceReader::kReorderWindow + 50'000;

struct OrderSample {
    std::vector<std::uint64_t> first_seqs; // of the first few events handed out
    std::uint64_t events = 0;
    std::uint64_t missing = 0;
    TraceMetadata meta;
};

OrderSample read_order(const std::filesystem::path& path) {
    TraceReader reader(path);
    OrderSample back;
    for (Event event; reader.next(event); ++back.events)
        if (back.first_seqs.size() < 6) back.first_seqs.push_back(event.seq);
    back.missing = reader.missing_events();
    back.meta = reader.metadata();
    return back;
}

} // namespace

TEST_CASE("reorder window: a thread's chunk within the window is merged back in order") {
    ScratchDir dir("window-within");
    ChunkBuilder busy(2, 1);
    for (int i = 0; i < 100'000; ++i) busy.event(RecordKind::kFree, 0x1000);
    ChunkBuilder late(1, 0);
    late.event(RecordKind::kMalloc, 0x1000, 10);
    write_trace(dir / "t", {file_header(), process_start(kFormatVersion, 1), busy.finish(), late.finish()});
    const OrderSample back = read_order(dir / "t");
    CHECK(back.events == 100'001);
    CHECK(back.first_seqs == std::vector<std::uint64_t>{0, 1, 2, 3, 4, 5});
    CHECK(back.missing == 0);
    CHECK(back.meta.late_events == 0);
}

TEST_CASE("reorder window: past it, numbers that arrive late are counted, truly lost ones stay missing") {
    ScratchDir dir("window-past");
    // Thread 2 has 1, 2, 4 and then more than the window from 6 on; thread 1, written last,
    // has 0 and 5; number 3 never comes.
    ChunkBuilder busy(2, 1);
    busy.event(RecordKind::kMalloc, 0x2000, 8).event(RecordKind::kFree, 0x2000);
    busy.extended(ExtendedType::kSeqSkip).varint(1).event(RecordKind::kMalloc, 0x3000, 8);
    busy.extended(ExtendedType::kSeqSkip).varint(1);
    for (std::uint64_t i = 0; i < kPastWindow; ++i) busy.event(RecordKind::kFree, 0x1000);
    ChunkBuilder late(1, 0);
    late.event(RecordKind::kMalloc, 0x1000, 10).extended(ExtendedType::kSeqSkip).varint(4).event(RecordKind::kFree, 0x3000);
    write_trace(dir / "t", {file_header(), process_start(kFormatVersion, 1), busy.finish(), late.finish()});
    const OrderSample back = read_order(dir / "t");
    CHECK(back.events == kPastWindow + 5);
    // 0 was given up on once the window filled: 1, 2, 4 and 6 on came first.
    CHECK(back.first_seqs == std::vector<std::uint64_t>{1, 2, 4, 6, 7, 8});
    CHECK(back.meta.late_events == 2); // 0 and 5
    CHECK(back.missing == 1);          // 3
    CHECK(back.meta.unexplained_missing == 1);
}

TEST_CASE("reorder window: random interleavings of many threads' chunks come back in program order") {
    ScratchDir dir("window-random");
    std::mt19937_64 random(15);
    for (int round = 0; round < 20; ++round) {
        // Numbers 0..count-1 handed to threads in runs (as number blocks are), each thread's
        // events cut into chunks, the chunks written in a random order that keeps each
        // thread's own chunks in order (as one thread's buffer is written).
        const int threads = 1 + static_cast<int>(random() % 12);
        const std::uint64_t count = 2000 + random() % 20000;
        std::vector<std::vector<std::uint64_t>> numbers(threads);
        for (std::uint64_t seq = 0; seq < count;) {
            const auto owner = random() % threads;
            for (std::uint64_t run = 1 + random() % 64; run > 0 && seq < count; --run) numbers[owner].push_back(seq++);
        }
        std::vector<std::vector<Bytes>> chunks(threads);
        for (int t = 0; t < threads; ++t) {
            for (std::size_t at = 0; at < numbers[t].size();) {
                const std::size_t end = std::min(numbers[t].size(), at + 1 + random() % 500);
                ChunkBuilder chunk(10 + t, numbers[t][at]);
                for (std::size_t i = at; i < end; ++i) {
                    if (i > at && numbers[t][i] != numbers[t][i - 1] + 1)
                        chunk.extended(ExtendedType::kSeqSkip).varint(numbers[t][i] - numbers[t][i - 1] - 1);
                    chunk.event(RecordKind::kMalloc, 0x100000 + numbers[t][i] * 16, numbers[t][i] + 1);
                }
                chunks[t].push_back(chunk.finish());
                at = end;
            }
        }
        std::vector<Bytes> parts{file_header(), process_start(kFormatVersion, 1)};
        std::vector<std::size_t> next(threads, 0);
        for (std::size_t left = count; left > 0;) {
            const auto t = random() % threads;
            if (next[t] == chunks[t].size()) continue;
            parts.push_back(chunks[t][next[t]++]);
            left = 0;
            for (int u = 0; u < threads; ++u) left += chunks[u].size() - next[u];
        }
        write_trace(dir / "t", parts);
        TraceReader reader(dir / "t");
        std::uint64_t expected = 0;
        bool ordered = true;
        for (Event event; reader.next(event); ++expected)
            ordered &= event.seq == expected && event.size == expected + 1 && event.address == 0x100000 + expected * 16;
        INFO("round " << round << ", " << threads << " threads");
        CHECK(ordered);
        CHECK(expected == count);
        CHECK(reader.missing_events() == 0);
        CHECK(reader.metadata().late_events == 0);
    }
}
