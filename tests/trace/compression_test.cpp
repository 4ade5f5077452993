// Compressed chunks (format.h, kCompressedChunkTag): they read exactly like the plain chunk
// they stand for, side by side with plain ones; a damaged one is skipped like a plain one;
// one that verifies but lies about its size is an error, never a large allocation.
#include "profiler/trace/checksum.h"
#include "profiler/trace/chunk_builder.h"
#include "profiler/trace/encoding.h"
#include "profiler/trace/reader.h"
#include "common/error.h"
#include "tests/support/run.h"
#include "tests/trace/trace_bytes.h"

#include <catch2/catch.hpp>
#include <fstream>

using namespace memopt::trace;
using memopt::test::ScratchDir;
using namespace memopt::trace::test;

namespace {

// `count` mallocs numbered from `first`, at nearby addresses with sizes a program might ask.
ChunkBuilder mallocs(std::uint64_t first, std::uint64_t count) {
    ChunkBuilder chunk(1, first);
    for (std::uint64_t i = 0; i < count; ++i)
        chunk.event(RecordKind::kMalloc, 0x10000000 + (first + i) * 48, 16 + (first + i) % 40);
    return chunk;
}

std::vector<std::uint64_t> read_sizes(const std::filesystem::path& path, TraceMetadata* meta = nullptr) {
    TraceReader reader(path);
    std::vector<std::uint64_t> out;
    Event event;
    while (reader.next(event))
        if (event.type == EventType::kAllocation) out.push_back(event.size);
    if (meta) *meta = reader.metadata();
    return out;
}

std::vector<std::uint64_t> expected_sizes(std::uint64_t count) {
    std::vector<std::uint64_t> out;
    for (std::uint64_t i = 0; i < count; ++i) out.push_back(16 + i % 40);
    return out;
}

} // namespace

TEST_CASE("a compressed chunk is smaller and reads as the plain chunk it stands for") {
    const auto chunk = mallocs(0, 5000);
    const Bytes plain = chunk.finish();
    const Bytes packed = chunk.finish_compressed();
    REQUIRE(packed.front() == kCompressedChunkTag);
    CHECK(packed.size() * 2 < plain.size());

    ScratchDir dir("compressed");
    write_bytes(dir / "plain.trace", concat({file_header(), process_start(), plain}));
    write_bytes(dir / "packed.trace", concat({file_header(), process_start(), packed}));
    CHECK(read_sizes(dir / "packed.trace") == expected_sizes(5000));
    CHECK(read_sizes(dir / "plain.trace") == read_sizes(dir / "packed.trace"));
}

TEST_CASE("plain and compressed chunks mix in one trace, in any order") {
    ScratchDir dir("mixed");
    write_bytes(dir / "t.trace", concat({file_header(), process_start(), mallocs(0, 1000).finish_compressed(),
                                         mallocs(1000, 1000).finish(), mallocs(2000, 1000).finish_compressed()}));
    TraceMetadata meta;
    CHECK(read_sizes(dir / "t.trace", &meta) == expected_sizes(3000));
    CHECK(meta.skipped.empty());
}

TEST_CASE("a tiny chunk that zstd cannot shrink stays plain") {
    ChunkBuilder chunk(1, 0);
    chunk.event(RecordKind::kMalloc, 0x1000, 8);
    CHECK(chunk.finish_compressed().front() == kChunkTag);
}

TEST_CASE("a damaged compressed chunk is skipped like a plain one") {
    const Bytes first = mallocs(0, 1000).finish_compressed();
    Bytes second = mallocs(1000, 1000).finish_compressed();
    const Bytes third = mallocs(2000, 1000).finish_compressed();
    second[second.size() / 2] ^= 0x10; // inside the zstd frame: the checksum no longer matches
    ScratchDir dir("damaged");
    write_bytes(dir / "t.trace", concat({file_header(), process_start(), first, second, third}));
    TraceMetadata meta;
    const auto sizes = read_sizes(dir / "t.trace", &meta);
    CHECK(sizes.size() == 2000); // the first and third chunks, nothing of the second
    REQUIRE(meta.skipped.size() == 1);
    CHECK(meta.skipped[0].bytes == second.size());
    CHECK(meta.skipped[0].header_known); // tid and first_seq are stored uncompressed
    CHECK(meta.skipped[0].first_seq == 1000);
}

TEST_CASE("a file cut inside a compressed chunk reads up to the chunk before") {
    const Bytes first = mallocs(0, 1000).finish_compressed();
    const Bytes second = mallocs(1000, 1000).finish_compressed();
    Bytes file = concat({file_header(), process_start(), first, second});
    file.resize(file.size() - second.size() / 3);
    ScratchDir dir("cut");
    write_bytes(dir / "t.trace", file);
    TraceReader reader(dir / "t.trace");
    Event event;
    std::size_t allocations = 0;
    while (reader.next(event)) allocations += event.type == EventType::kAllocation;
    CHECK(allocations == 1000);
    CHECK(reader.truncated());
}

namespace {

// A compressed chunk with the given records_length field and zstd bytes, sealed so that its
// checksum verifies: only the decompression step can refuse it.
Bytes sealed_compressed_chunk(std::uint64_t records_length, const Bytes& frame) {
    const auto varint = [](std::uint64_t value) {
        std::uint8_t field[kMaxVarintSize];
        return Bytes(field, put_varint(field, value));
    };
    const Bytes body = concat({varint(1), varint(0), varint(records_length), frame});
    Bytes chunk = concat({Bytes(1, kCompressedChunkTag), varint(kChecksumSize + body.size()), Bytes(kChecksumSize, 0), body});
    REQUIRE(reseal_chunk(chunk.data(), chunk.size()) == chunk.size());
    return chunk;
}

std::string read_error(const Bytes& chunk) {
    ScratchDir dir("bad-compressed");
    write_bytes(dir / "t.trace", concat({file_header(), process_start(), chunk}));
    try {
        read_sizes(dir / "t.trace");
    } catch (const memopt::Error& error) {
        return error.what();
    }
    return "";
}

// The zstd frame of a real chunk holding 100 mallocs (their records decompress to `size`).
Bytes real_frame(std::uint64_t& size) {
    const Bytes packed = mallocs(0, 100).finish_compressed();
    ByteCursor in{packed.data(), packed.data() + packed.size()};
    std::uint8_t tag = 0;
    std::uint64_t length = 0, tid = 0, seq = 0;
    const std::uint8_t* checksum = nullptr;
    REQUIRE((in.byte(tag) && in.varint(length) && in.bytes(kChecksumSize, checksum)));
    REQUIRE((in.varint(tid) && in.varint(seq) && in.varint(size)));
    return Bytes(in.cursor, in.end);
}

} // namespace

TEST_CASE("a compressed chunk claiming more than kMaxChunkPayload bytes is refused before inflating") {
    std::uint64_t size = 0;
    const Bytes frame = real_frame(size);
    CHECK_THAT(read_error(sealed_compressed_chunk(kMaxChunkPayload + 1, frame)),
               Catch::Contains("corrupt") && Catch::Contains("larger than any chunk"));
}

TEST_CASE("a compressed chunk that verifies but does not inflate to its stated size is corrupt") {
    std::uint64_t size = 0;
    const Bytes frame = real_frame(size);
    CHECK(read_error(sealed_compressed_chunk(size, frame)).empty()); // the frame itself is fine
    CHECK_THAT(read_error(sealed_compressed_chunk(size - 1, frame)), Catch::Contains("does not decompress"));
    CHECK_THAT(read_error(sealed_compressed_chunk(size + 1, frame)), Catch::Contains("does not decompress"));
    CHECK_THAT(read_error(sealed_compressed_chunk(size, Bytes{1, 2, 3, 4, 5, 6, 7, 8})),
               Catch::Contains("does not decompress"));
}

TEST_CASE("a version-1 trace has no compressed chunks") {
    ScratchDir dir("v1-compressed");
    write_bytes(dir / "t.trace", concat({file_header(1), mallocs(0, 1000).finish_compressed()}));
    CHECK_THROWS_AS(read_sizes(dir / "t.trace"), memopt::Error);
}
