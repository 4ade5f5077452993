// kSeqVoid (format.h): numbers a writer reserved and gave back unused. The reader counts
// them as arrived wherever the record is, and Event::seq leaves them out.
#include "common/error.h"
#include "profiler/trace/chunk_builder.h"
#include "profiler/trace/reader.h"
#include "tests/support/run.h"
#include "tests/trace/trace_bytes.h"

#include <catch2/catch.hpp>
#include <fstream>

using namespace memopt::trace;
using memopt::test::ScratchDir;
using namespace memopt::trace::test;

TEST_CASE("numbers given back by one thread do not hold up the others, and seq leaves them out") {
    ScratchDir dir("seq-void");
    // Thread 1 reserved 0..7, used 0 and 1, gave back 2..7; thread 2 reserved 8..9 and 10.
    ChunkBuilder second(2, 8);
    second.event(RecordKind::kMalloc, 0x2000, 20).event(RecordKind::kFree, 0x2000);
    second.event(RecordKind::kMalloc, 0x1000, 30); // after thread 1's free of 0x1000
    ChunkBuilder first(1, 0);
    first.event(RecordKind::kMalloc, 0x1000, 10).event(RecordKind::kFree, 0x1000);
    first.extended(ExtendedType::kSeqVoid).varint(2).varint(6);
    write_trace(dir / "t", {file_header(), process_start(kFormatVersion, 100), second.finish(), first.finish()});
    const ReadBack read = read_all(dir / "t");
    REQUIRE(read.events.size() == 5);
    CHECK(read.missing == 0);
    for (std::size_t i = 0; i < read.events.size(); ++i) CHECK(read.events[i].seq == i);
    CHECK(read.events[0].size == 10);
    CHECK(read.events[1].type == EventType::kFree);
    CHECK(read.events[2].size == 20);
    CHECK(read.events[4].size == 30);
}

TEST_CASE("a void record may come before the record of an earlier number, in any chunk") {
    ScratchDir dir("seq-void-order");
    // Thread 1 took 1 before a realloc and wrote it after an outsider gave back 2..4; the
    // void of thread 3's numbers 7..8 sits in thread 2's chunk, written last.
    ChunkBuilder first(1, 0);
    first.event(RecordKind::kMalloc, 0x1000, 10);
    first.extended(ExtendedType::kSeqVoid).varint(2).varint(3);
    first.event(RecordKind::kFree, 0x1000); // number 1: a void is not sequenced
    first.extended(ExtendedType::kSeqSkip).varint(3).event(RecordKind::kRealloc, 0x3000, 40); // 5
    ChunkBuilder third(3, 6);
    third.event(RecordKind::kMalloc, 0x4000, 60);
    ChunkBuilder second(2, 9);
    second.event(RecordKind::kMalloc, 0x5000, 90).extended(ExtendedType::kSeqVoid).varint(7).varint(2);
    write_trace(dir / "t", {file_header(), process_start(kFormatVersion, 100), first.finish(), third.finish(), second.finish()});
    const ReadBack read = read_all(dir / "t");
    REQUIRE(read.events.size() == 5);
    CHECK(read.missing == 0);
    CHECK(read.events[1].type == EventType::kFree);
    CHECK(read.events[2].size == 40);
    CHECK(read.events[3].size == 60);
    CHECK(read.events[4].size == 90);
    CHECK(read.events[4].seq == 4);
}

TEST_CASE("an empty or overflowing void range is a corrupt trace") {
    ScratchDir dir("seq-void-bad");
    for (const auto& [first, count] : {std::pair<std::uint64_t, std::uint64_t>{5, 0}, {~0ull - 1, 4}}) {
        ChunkBuilder chunk(1, 0);
        chunk.event(RecordKind::kMalloc, 0x1000, 10).extended(ExtendedType::kSeqVoid).varint(first).varint(count);
        write_trace(dir / "t", {file_header(), process_start(kFormatVersion, 100), chunk.finish()});
        CHECK_THROWS_AS(read_all(dir / "t"), memopt::Error);
    }
}
