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


TEST_CASE("varints and zigzag round-trip") {
    for (std::uint64_t value : {0ull, 1ull, 127ull, 128ull, 300ull, 1ull << 35, ~0ull}) {
        std::uint8_t bytes[kMaxVarintSize];
        const auto* end = put_varint(bytes, value);
        CHECK(static_cast<std::size_t>(end - bytes) == varint_size(value));
        ByteCursor cursor{bytes, end};
        std::uint64_t back = 0;
        REQUIRE(cursor.varint(back));
        CHECK(back == value);
        CHECK(cursor.at_end());
    }
    for (std::int64_t value : {0ll, -1ll, 1ll, -64ll, 1ll << 40, -(1ll << 40)})
        CHECK(unzigzag(zigzag(value)) == value);
    const std::uint8_t endless[12] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    ByteCursor cursor{endless, endless + sizeof endless};
    std::uint64_t value = 0;
    CHECK_FALSE(cursor.varint(value));
}

TEST_CASE("chunks of two threads are merged back into program order") {
    ScratchDir dir("merge");
    // Thread 2 flushed first, but its events happened after thread 1's first two.
    ChunkBuilder second(2, 2);
    second.event(RecordKind::kFree, 0x1000).extended(ExtendedType::kSeqSkip).varint(1).event(RecordKind::kMalloc, 0x3000, 30);
    ChunkBuilder first(1, 0);
    first.event(RecordKind::kMalloc, 0x1000, 10).event(RecordKind::kMalloc, 0x2000, 20);
    first.extended(ExtendedType::kSeqSkip).varint(1).event(RecordKind::kFree, 0x2000);
    write_trace(dir / "t", {file_header(), process_start(kFormatVersion, 100), second.finish(), first.finish()});
    const auto events = read_all(dir / "t").events;
    REQUIRE(events.size() == 5);
    for (std::size_t i = 0; i < events.size(); ++i) CHECK(events[i].seq == i);
    CHECK(events[0].address == 0x1000);
    CHECK(events[0].size == 10);
    CHECK(events[2].type == EventType::kFree);
    CHECK(events[2].tid == 2);
    CHECK(events[3].type == EventType::kFree);
    CHECK(events[3].address == 0x2000);
    CHECK(events[4].address == 0x3000);
}

TEST_CASE("a lost sequence number does not stop the reader") {
    ScratchDir dir("gap");
    ChunkBuilder chunk(1, 5); // 0..4 never written (a killed thread's buffer)
    chunk.event(RecordKind::kMalloc, 0x1000, 1).event(RecordKind::kMalloc, 0x2000, 2);
    write_trace(dir / "t", {file_header(), process_start(kFormatVersion, 100), chunk.finish()});
    TraceReader reader(dir / "t");
    Event event;
    int count = 0;
    while (reader.next(event)) ++count;
    CHECK(count == 2);
    CHECK(reader.missing_events() == 5);
}

TEST_CASE("a file cut inside a chunk reads up to the last complete chunk") {
    ScratchDir dir("truncated");
    ChunkBuilder a(1, 0);
    a.event(RecordKind::kMalloc, 0x1000, 10);
    ChunkBuilder b(1, 1);
    b.event(RecordKind::kMalloc, 0x2000, 20);
    auto cut = b.finish();
    cut.resize(cut.size() - 1);
    write_trace(dir / "t", {file_header(), process_start(kFormatVersion, 100), a.finish(), cut});
    TraceReader reader(dir / "t");
    Event event;
    REQUIRE(reader.next(event));
    CHECK(event.size == 10);
    CHECK_FALSE(reader.next(event));
    CHECK(reader.truncated());
}

TEST_CASE("corrupt and foreign files are rejected with the file named") {
    ScratchDir dir("corrupt");
    const auto path = dir / "bad.trace";
    SECTION("not a trace") {
        write_trace(path, {Bytes{'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '!', '!', '!', '!', '!'}});
        CHECK_THROWS_WITH(TraceReader(path), Catch::Contains("bad.trace") && Catch::Contains("not a memopt trace"));
    }
    SECTION("shorter than the header") {
        auto header = file_header();
        header.resize(10);
        write_trace(path, {header});
        CHECK_THROWS_WITH(TraceReader(path), Catch::Contains("truncated"));
    }
    SECTION("another format version") {
        write_trace(path, {file_header(kFormatVersion + 1)});
        CHECK_THROWS_WITH(TraceReader(path), Catch::Contains("version"));
    }
    SECTION("garbage where a chunk should start, in a version-1 trace (no checksums to resync by)") {
        write_trace(path, {file_header(1), process_start(1, 100), Bytes{0x00, 0x01, 0x02}});
        CHECK_THROWS_WITH(read_all(path), Catch::Contains("corrupt"));
    }
    SECTION("an unknown record type inside a chunk") {
        ChunkBuilder chunk(1, 0);
        chunk.extended(static_cast<ExtendedType>(99));
        write_trace(path, {file_header(), process_start(kFormatVersion, 100), chunk.finish()});
        CHECK_THROWS_WITH(read_all(path), Catch::Contains("unknown record type"));
    }
    SECTION("a chunk length beyond reason, in a version-1 trace") {
        write_trace(path, {file_header(1), Bytes{kChunkTag, 0xff, 0xff, 0xff, 0xff, 0x7f}});
        CHECK_THROWS_AS(read_all(path), memopt::Error);
    }
    SECTION("a missing file") {
        CHECK_THROWS_WITH(TraceReader(dir / "absent"), Catch::Contains("absent"));
    }
}

TEST_CASE("exec starts a new image: numbering restarts after the old image's events") {
    ScratchDir dir("exec");
    ChunkBuilder before(100, 0);
    before.event(RecordKind::kMalloc, 0x1000, 10).event(RecordKind::kMalloc, 0x2000, 20);
    ChunkBuilder after(100, 0);
    after.extended(ExtendedType::kProcessStart).varint(100).varint(1).varint(2000).byte(2).varint(4096).varint(0);
    after.event(RecordKind::kMalloc, 0x5000, 50);
    write_trace(dir / "t", {file_header(), process_start(kFormatVersion, 100), before.finish(), after.finish()});
    const auto events = read_all(dir / "t").events;
    REQUIRE(events.size() == 4);
    CHECK(events[1].size == 20);
    CHECK(events[2].type == EventType::kImageStart);
    CHECK(events[3].size == 50);
}

TEST_CASE("RSS samples take their place by position, without numbers of their own") {
    ScratchDir dir("positioned");
    ChunkBuilder sampler(9, 0);
    sampler.extended(ExtendedType::kRss).varint(5000).varint(10).varint(1);
    ChunkBuilder program(1, 0);
    program.event(RecordKind::kMalloc, 0x1000, 10).event(RecordKind::kMalloc, 0x2000, 20);
    write_trace(dir / "t", {file_header(), process_start(kFormatVersion, 100), sampler.finish(), program.finish()});
    const auto events = read_all(dir / "t").events;
    REQUIRE(events.size() == 3);
    CHECK(events[0].size == 10);
    CHECK(events[1].type == EventType::kRss);
    CHECK(events[1].value == 10 * 4096);
    CHECK(events[2].size == 20);
}

TEST_CASE("tracer notes (kind 21) are read between events, once per note and image, unknown ones kept") {
    ScratchDir dir("tracer-note");
    ChunkBuilder chunk(100, 0);
    chunk.event(RecordKind::kMalloc, 0x1000, 10);
    chunk.extended(ExtendedType::kTracerNote).varint(static_cast<std::uint64_t>(TracerNote::kStackTableFull)).varint(656);
    chunk.event(RecordKind::kMalloc, 0x2000, 20);
    chunk.extended(ExtendedType::kTracerNote).varint(static_cast<std::uint64_t>(TracerNote::kStackTableFull)).varint(900);
    chunk.extended(ExtendedType::kTracerNote).varint(77).varint(5); // a note of a later writer
    write_trace(dir / "t", {file_header(), process_start(kFormatVersion, 100), chunk.finish_compressed()});
    TraceReader reader(dir / "t");
    std::vector<Event> events;
    for (Event event; reader.next(event);) events.push_back(event);
    REQUIRE(events.size() == 2);
    CHECK(events[1].size == 20);
    CHECK(reader.missing_events() == 0);
    const auto& notes = reader.metadata().tracer_notes;
    REQUIRE(notes.size() == 2);
    CHECK(notes[0].note == static_cast<std::uint64_t>(TracerNote::kStackTableFull));
    CHECK(notes[0].count == 656); // the first of the repeated note
    CHECK(notes[1].note == 77);
    CHECK(notes[1].count == 5);
    CHECK(reader.metadata().tracer_errors.empty());
}
