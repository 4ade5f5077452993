// Chunk checksums (format version 2): a damaged chunk is skipped, counted, and never changes
// what the other chunks say.
#include "profiler/trace/checksum.h"
#include "profiler/trace/chunk_builder.h"
#include "profiler/trace/reader.h"
#include "tests/support/run.h"
#include "tests/trace/trace_bytes.h"

#include <catch2/catch.hpp>
#include <fstream>

using namespace memopt::trace;
using memopt::test::ScratchDir;
using namespace memopt::trace::test;

namespace {

std::vector<std::uint64_t> sizes(const ReadBack& result) {
    std::vector<std::uint64_t> out;
    for (const auto& event : result.events)
        if (event.type == EventType::kAllocation) out.push_back(event.size);
    return out;
}

// Thread 1 writes numbers 0, 1 and 4; thread 2 writes 2 and 3 in the chunk under test.
struct ThreeChunks {
    Bytes start = process_start();
    Bytes first, second, third;
    ThreeChunks() {
        ChunkBuilder a(1, 0);
        a.event(RecordKind::kMalloc, 0x1000, 10).event(RecordKind::kMalloc, 0x2000, 20);
        ChunkBuilder b(2, 2);
        b.event(RecordKind::kMalloc, 0x3000, 30).event(RecordKind::kMalloc, 0x4000, 40);
        ChunkBuilder c(1, 4);
        c.event(RecordKind::kMalloc, 0x5000, 50);
        first = a.finish();
        second = b.finish();
        third = c.finish();
    }
    Bytes file() const { return concat({file_header(), start, first, second, third}); }
    std::size_t second_offset() const { return kFileHeaderSize + start.size() + first.size(); }
};

} // namespace

TEST_CASE("a flipped bit in one chunk: that chunk is skipped with its events counted, the rest read unchanged") {
    ScratchDir dir("checksum-flip");
    ThreeChunks chunks;
    Bytes file = chunks.file();
    file[chunks.second_offset() + chunks.second.size() - 1] ^= 0x04; // the size of the 40-byte malloc
    write_bytes(dir / "t", file);
    const auto result = read_all(dir / "t");
    CHECK(sizes(result) == std::vector<std::uint64_t>{10, 20, 50});
    REQUIRE(result.meta.skipped.size() == 1);
    const SkippedChunk& skipped = result.meta.skipped[0];
    CHECK(skipped.offset == chunks.second_offset());
    CHECK(skipped.bytes == chunks.second.size());
    CHECK_FALSE(skipped.truncated_tail);
    CHECK(skipped.tid == 2);
    CHECK(skipped.lost_events == 2); // numbers 2 and 3 never arrived
    CHECK(skipped.lost_events_exact);
    CHECK(result.meta.unexplained_missing == 0);
    CHECK_FALSE(result.truncated);
}

TEST_CASE("every single-bit flip in a chunk (tag, length, checksum, body) leaves the other chunks intact") {
    ScratchDir dir("checksum-every-bit");
    ThreeChunks chunks;
    const Bytes good = chunks.file();
    for (std::size_t byte = 0; byte < chunks.second.size(); ++byte) {
        for (unsigned bit = 0; bit < 8; ++bit) {
            Bytes file = good;
            file[chunks.second_offset() + byte] ^= static_cast<std::uint8_t>(1u << bit);
            write_bytes(dir / "t", file);
            INFO("byte " << byte << " bit " << bit);
            const auto result = read_all(dir / "t");
            CHECK(sizes(result) == std::vector<std::uint64_t>{10, 20, 50});
            CHECK(result.meta.skipped.size() == 1);
        }
    }
}

TEST_CASE("a damaged length field: the reader resynchronises at the next chunk that verifies") {
    ScratchDir dir("checksum-resync");
    ThreeChunks chunks;
    Bytes file = chunks.file();
    file[chunks.second_offset() + 1] = 0x7f; // claims 127 bytes: runs into the third chunk
    write_bytes(dir / "t", file);
    const auto result = read_all(dir / "t");
    CHECK(sizes(result) == std::vector<std::uint64_t>{10, 20, 50});
    REQUIRE(result.meta.skipped.size() == 1);
    CHECK(result.meta.skipped[0].bytes == chunks.second.size());
}

TEST_CASE("a file cut inside its last chunk: the tail is reported with an estimate of its events") {
    ScratchDir dir("checksum-tail");
    ThreeChunks chunks;
    Bytes file = chunks.file();
    file.resize(file.size() - 2);
    write_bytes(dir / "t", file);
    const auto result = read_all(dir / "t");
    CHECK(sizes(result) == std::vector<std::uint64_t>{10, 20, 30, 40});
    CHECK(result.truncated);
    REQUIRE(result.meta.skipped.size() == 1);
    CHECK(result.meta.skipped[0].truncated_tail);
    CHECK(result.meta.skipped[0].bytes == chunks.third.size() - 2);
    CHECK(result.meta.skipped[0].lost_events >= 1);
}

TEST_CASE("a damaged chunk followed by a cut-off tail: two losses, each named") {
    ScratchDir dir("checksum-damaged-then-tail");
    ThreeChunks chunks;
    Bytes file = chunks.file();
    file[chunks.second_offset() + chunks.second.size() - 1] ^= 0x01;
    file.resize(file.size() - 1);
    write_bytes(dir / "t", file);
    const auto result = read_all(dir / "t");
    CHECK(sizes(result) == std::vector<std::uint64_t>{10, 20});
    REQUIRE(result.meta.skipped.size() == 2);
    CHECK_FALSE(result.meta.skipped[0].truncated_tail);
    CHECK(result.meta.skipped[0].bytes == chunks.second.size());
    CHECK(result.meta.skipped[1].truncated_tail);
    CHECK(result.truncated);
}

TEST_CASE("garbage between chunks is skipped and the chunks after it are read") {
    ScratchDir dir("checksum-garbage");
    ThreeChunks chunks;
    const Bytes garbage{0x00, kChunkTag, 0x03, 0x01, 0x02, 0x03, kChunkTag};
    write_bytes(dir / "t", concat({file_header(), chunks.start, chunks.first, garbage, chunks.second, chunks.third}));
    const auto result = read_all(dir / "t");
    CHECK(sizes(result) == std::vector<std::uint64_t>{10, 20, 30, 40, 50});
    REQUIRE(result.meta.skipped.size() == 1);
    CHECK(result.meta.skipped[0].bytes == garbage.size());
}

TEST_CASE("version-1 traces (no checksums) are still read") {
    ScratchDir dir("checksum-v1");
    ChunkBuilder a(1, 0);
    a.event(RecordKind::kMalloc, 0x1000, 10);
    write_bytes(dir / "t", concat({file_header(1), process_start(1), a.finish(1)}));
    const auto result = read_all(dir / "t");
    CHECK(sizes(result) == std::vector<std::uint64_t>{10});
    CHECK(result.meta.format_version == 1);
    CHECK(result.meta.skipped.empty());
}

TEST_CASE("reseal_chunk makes a mutated chunk verify again (the fuzzers' way past the checksum)") {
    ScratchDir dir("checksum-reseal");
    ThreeChunks chunks;
    Bytes file = chunks.file();
    const std::size_t at = chunks.second_offset();
    file[at + chunks.second.size() - 1] = 41;
    REQUIRE(reseal_chunk(file.data() + at, file.size() - at) == chunks.second.size());
    write_bytes(dir / "t", file);
    const auto result = read_all(dir / "t");
    CHECK(sizes(result) == std::vector<std::uint64_t>{10, 20, 30, 41, 50});
    CHECK(result.meta.skipped.empty());
    CHECK(reseal_chunk(file.data() + at + 1, file.size() - at - 1) == 0); // no chunk starts there
}
