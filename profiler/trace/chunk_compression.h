#pragma once
// Turning a plain chunk into a compressed one (format.h, kCompressedChunkTag): the one
// writer-side implementation of that layout, shared by the preload library's sink and by
// ChunkBuilder (tests, `memopt record`). Header-only and allocation-free: the caller owns
// the zstd context (the preload library's lives in a static workspace, compressor.cpp), so
// it is safe on the allocation path and in signal handlers.
#include "profiler/trace/checksum.h"
#include "profiler/trace/encoding.h"

#include <cstddef>
#include <cstdint>
#include <zstd.h>

namespace memopt::trace {

// zstd level used unless MEMOPT_COMPRESS says otherwise: level 1 already packs the varint
// records 3-4x; higher levels cost more CPU on the program's threads for little more.
inline constexpr int kDefaultCompressionLevel = 1;
inline constexpr int kMaxCompressionLevel = 3;
// Bytes reserved in front of the compressed records for the chunk's fixed fields.
inline constexpr std::size_t kMaxCompressedHeaderSize = 1 + kMaxVarintSize + kChecksumSize + 3 * kMaxVarintSize;

// The parts of a plain (kChunkTag, version 2) chunk.
struct PlainChunk {
    std::uint64_t tid = 0;
    std::uint64_t first_seq = 0;
    const std::uint8_t* records = nullptr;
    std::size_t records_size = 0;
};

// Splits the complete plain chunk [chunk, chunk + size); false when it is not one.
inline bool split_plain_chunk(const std::uint8_t* chunk, std::size_t size, PlainChunk& plain) noexcept {
    ByteCursor in{chunk, chunk + size};
    std::uint8_t tag = 0;
    std::uint64_t length = 0;
    const std::uint8_t* checksum = nullptr;
    if (!in.byte(tag) || tag != kChunkTag || !in.varint(length) || length != static_cast<std::uint64_t>(in.end - in.cursor))
        return false;
    if (!in.bytes(kChecksumSize, checksum) || !in.varint(plain.tid) || !in.varint(plain.first_seq)) return false;
    plain.records = in.cursor;
    plain.records_size = static_cast<std::size_t>(in.end - in.cursor);
    return true;
}

// A compressed chunk written into a caller's buffer.
struct CompressedChunk {
    const std::uint8_t* data = nullptr;
    std::size_t size = 0; // 0: not worth it (zstd failed, or the result is not smaller)
};

// Compresses `plain` into `out` (`capacity` bytes) as a kCompressedChunkTag chunk, kept only
// when it is smaller than `plain_size` (the plain chunk's size on disk). The fixed fields
// are written right-aligned in front of the zstd frame, so nothing is copied twice.
inline CompressedChunk compress_chunk(ZSTD_CCtx* context, int level, const PlainChunk& plain,
                                      std::size_t plain_size, std::uint8_t* out, std::size_t capacity) noexcept {
    if (capacity <= kMaxCompressedHeaderSize || plain.records_size > kMaxChunkPayload) return {};
    std::uint8_t* frame = out + kMaxCompressedHeaderSize;
    std::size_t room = capacity - kMaxCompressedHeaderSize;
    if (room > plain_size) room = plain_size; // a frame that does not fit would not be smaller
    const std::size_t frame_size = ZSTD_compressCCtx(context, frame, room, plain.records, plain.records_size, level);
    if (ZSTD_isError(frame_size)) return {};
    std::uint8_t ids[3 * kMaxVarintSize];
    std::uint8_t* ids_end = put_varint(ids, plain.tid);
    ids_end = put_varint(ids_end, plain.first_seq);
    ids_end = put_varint(ids_end, plain.records_size);
    const std::size_t ids_size = static_cast<std::size_t>(ids_end - ids);
    std::uint8_t* body = frame - ids_size;
    for (std::size_t i = 0; i < ids_size; ++i) body[i] = ids[i];
    const std::size_t body_size = ids_size + frame_size;
    std::uint8_t* start = prepend_chunk_head(kCompressedChunkTag, body, body_size);
    const std::size_t total = static_cast<std::size_t>(body + body_size - start);
    if (total >= plain_size) return {};
    return {start, total};
}

} // namespace memopt::trace
