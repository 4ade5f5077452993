// The reader's reordering window (TraceReader::kReorderWindow): events wait for an earlier
// number up to that many; past it the gap is given up on, and numbers that arrive later are
// handed out late and counted (TraceMetadata::late_events), never silently.
#include "profiler/trace/chunk_builder.h"
#include "profiler/trace/reader.h"
#include "tests/support/run.h"
#include "tests/trace/trace_bytes.h"

#include <catch2/catch.hpp>

using namespace memopt::trace;
using memopt::test::ScratchDir;
using namespace memopt::trace::test;

namespace {

constexpr std::uint64_t kPastWindow = TraceReader::kReorderWindow + 50'000;

struct ReadBack {
    std::vector<std::uint64_t> first_seqs; // of the first few events handed out
    std::uint64_t events = 0;
    std::uint64_t missing = 0;
    TraceMetadata meta;
};

ReadBack read_back(const std::filesystem::path& path) {
    TraceReader reader(path);
    ReadBack back;
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
    const ReadBack back = read_back(dir / "t");
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
    const ReadBack back = read_back(dir / "t");
    CHECK(back.events == kPastWindow + 5);
    // 0 was given up on once the window filled: 1, 2, 4 and 6 on came first.
    CHECK(back.first_seqs == std::vector<std::uint64_t>{1, 2, 4, 6, 7, 8});
    CHECK(back.meta.late_events == 2); // 0 and 5
    CHECK(back.missing == 1);          // 3
    CHECK(back.meta.unexplained_missing == 1);
}
