#pragma once
// Byte-level encoding of trace records: LEB128 varints, zigzag deltas, record heads.
// Header-only and allocation-free: the preload library calls these on the allocation hot
// path, the reader and the tests use the matching decoders.
#include "profiler/trace/format.h"

#include <cstddef>
#include <cstdint>

namespace memopt::trace {

inline constexpr std::size_t kMaxVarintSize = 10;

inline std::uint8_t* put_varint(std::uint8_t* out, std::uint64_t value) noexcept {
    while (value >= 0x80) {
        *out++ = static_cast<std::uint8_t>(value | 0x80);
        value >>= 7;
    }
    *out++ = static_cast<std::uint8_t>(value);
    return out;
}

inline std::size_t varint_size(std::uint64_t value) noexcept {
    std::size_t n = 1;
    while (value >= 0x80) {
        value >>= 7;
        ++n;
    }
    return n;
}

inline std::uint64_t zigzag(std::int64_t value) noexcept {
    return (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63);
}

inline std::int64_t unzigzag(std::uint64_t value) noexcept {
    return static_cast<std::int64_t>(value >> 1) ^ -static_cast<std::int64_t>(value & 1);
}

inline std::uint64_t record_head(RecordKind kind, std::uint64_t value) noexcept {
    return (value << 3) | static_cast<std::uint64_t>(kind);
}

inline std::uint8_t* put_extended_head(std::uint8_t* out, ExtendedType type) noexcept {
    return put_varint(out, record_head(RecordKind::kExtended, static_cast<std::uint64_t>(type)));
}

// Bounds-checked decoding over [cursor, end). Every read reports failure instead of reading
// past the end, so a truncated or corrupt chunk is detected, never overrun.
struct ByteCursor {
    const std::uint8_t* cursor;
    const std::uint8_t* end;

    bool at_end() const noexcept { return cursor >= end; }

    bool varint(std::uint64_t& value) noexcept {
        value = 0;
        for (unsigned shift = 0; shift < 64; shift += 7) {
            if (cursor >= end) return false;
            const std::uint8_t byte = *cursor++;
            value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
            if (!(byte & 0x80)) return true;
        }
        return false; // more than 10 bytes: corrupt
    }

    bool byte(std::uint8_t& value) noexcept {
        if (cursor >= end) return false;
        value = *cursor++;
        return true;
    }

    bool bytes(std::size_t count, const std::uint8_t*& start) noexcept {
        if (static_cast<std::size_t>(end - cursor) < count) return false;
        start = cursor;
        cursor += count;
        return true;
    }
};

} // namespace memopt::trace
