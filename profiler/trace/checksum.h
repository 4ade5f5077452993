#pragma once
// The per-chunk checksum of trace format version 2 (format.h): the low 32 bits of XXH3-64 of
// the chunk's body (everything after the checksum field), seeded with the chunk's length
// field so that a flipped bit in the length is caught too.
//
// xxHash comes from Debian's libxxhash-dev and is compiled in here (XXH_INLINE_ALL): the
// preload library links nothing new, and the one-shot XXH3 call uses only the stack, so it is
// safe on the allocation path and in signal handlers.
#include "profiler/trace/encoding.h"

#include <cstddef>
#include <cstdint>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace memopt::trace {

inline constexpr std::size_t kChecksumSize = 4;

inline std::uint32_t chunk_checksum(std::uint64_t length_field, const std::uint8_t* body,
                                    std::size_t size) noexcept {
    return static_cast<std::uint32_t>(XXH3_64bits_withSeed(body, size, length_field));
}

// Little-endian store and load of the checksum field.
inline std::uint8_t* put_checksum(std::uint8_t* out, std::uint32_t value) noexcept {
    for (std::size_t i = 0; i < kChecksumSize; ++i) *out++ = static_cast<std::uint8_t>(value >> (8 * i));
    return out;
}

inline std::uint32_t get_checksum(const std::uint8_t* in) noexcept {
    std::uint32_t value = 0;
    for (std::size_t i = 0; i < kChecksumSize; ++i) value |= static_cast<std::uint32_t>(in[i]) << (8 * i);
    return value;
}

// Writes a chunk's head (tag, length field, checksum) in the bytes just before `body`, which
// the caller reserved, and returns where the chunk starts; the chunk is then
// [start, body + body_size). The one writer of a chunk head (the preload's plain and
// compressed chunks). The unsealed form leaves the checksum field 0 for seal_chunk to fill:
// the preload's plain chunks, most of which go out compressed instead (their plain checksum
// would be computed for nothing).
inline std::uint8_t* prepend_unsealed_chunk_head(std::uint8_t tag, std::uint8_t* body, std::size_t body_size) noexcept {
    const std::uint64_t length = kChecksumSize + body_size;
    std::uint8_t head[1 + kMaxVarintSize + kChecksumSize];
    std::uint8_t* head_end = head;
    *head_end++ = tag;
    head_end = put_varint(head_end, length);
    head_end = put_checksum(head_end, 0);
    const std::size_t head_size = static_cast<std::size_t>(head_end - head);
    std::uint8_t* start = body - head_size;
    for (std::size_t i = 0; i < head_size; ++i) start[i] = head[i];
    return start;
}

// Fills the checksum field (the 4 bytes before `body`) of a chunk whose head
// prepend_unsealed_chunk_head wrote.
inline void seal_chunk(std::uint8_t* body, std::size_t body_size) noexcept {
    put_checksum(body - kChecksumSize, chunk_checksum(kChecksumSize + body_size, body, body_size));
}

inline std::uint8_t* prepend_chunk_head(std::uint8_t tag, std::uint8_t* body, std::size_t body_size) noexcept {
    std::uint8_t* start = prepend_unsealed_chunk_head(tag, body, body_size);
    seal_chunk(body, body_size);
    return start;
}

} // namespace memopt::trace
