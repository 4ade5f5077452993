#include "profiler/trace/chunk_builder.h"

#include "profiler/trace/checksum.h"
#include "profiler/trace/chunk_compression.h"

#include <cstring>
#include <memory>

namespace memopt::trace {
namespace {

void append_varint(std::vector<std::uint8_t>& out, std::uint64_t value) {
    std::uint8_t bytes[kMaxVarintSize];
    const std::uint8_t* end = put_varint(bytes, value);
    for (const std::uint8_t* p = bytes; p != end; ++p) out.push_back(*p);
}

} // namespace

std::vector<std::uint8_t> file_header(std::uint16_t version) {
    std::vector<std::uint8_t> header(kFileHeaderSize, 0);
    std::memcpy(header.data(), kMagic, sizeof kMagic);
    header[8] = static_cast<std::uint8_t>(version & 0xff);
    header[9] = static_cast<std::uint8_t>(version >> 8);
    return header;
}

ChunkBuilder& ChunkBuilder::varint(std::uint64_t value) {
    append_varint(payload_, value);
    return *this;
}

ChunkBuilder& ChunkBuilder::byte(std::uint8_t value) {
    payload_.push_back(value);
    return *this;
}

ChunkBuilder& ChunkBuilder::text(std::string_view value) {
    varint(value.size());
    payload_.insert(payload_.end(), value.begin(), value.end());
    return *this;
}

ChunkBuilder& ChunkBuilder::extended(ExtendedType type) {
    return varint(record_head(RecordKind::kExtended, static_cast<std::uint64_t>(type)));
}

ChunkBuilder& ChunkBuilder::event(RecordKind kind, std::uint64_t address, std::uint64_t size) {
    const std::uint64_t units = address >> kAddressShift;
    varint(record_head(kind, zigzag(static_cast<std::int64_t>(units - last_units_))));
    last_units_ = units;
    if (kind != RecordKind::kFree) varint(size);
    return *this;
}

std::vector<std::uint8_t> ChunkBuilder::finish(std::uint16_t version) const {
    std::vector<std::uint8_t> body;
    append_varint(body, tid_);
    append_varint(body, first_seq_);
    body.insert(body.end(), payload_.begin(), payload_.end());
    const bool checksummed = version >= 2;
    const std::uint64_t length = body.size() + (checksummed ? kChecksumSize : 0);
    std::vector<std::uint8_t> chunk;
    chunk.push_back(kChunkTag);
    append_varint(chunk, length);
    if (checksummed) {
        std::uint8_t field[kChecksumSize];
        put_checksum(field, chunk_checksum(length, body.data(), body.size()));
        chunk.insert(chunk.end(), field, field + kChecksumSize);
    }
    chunk.insert(chunk.end(), body.begin(), body.end());
    return chunk;
}

std::vector<std::uint8_t> ChunkBuilder::finish_compressed(int level) const {
    std::vector<std::uint8_t> plain_chunk = finish();
    PlainChunk plain;
    if (!split_plain_chunk(plain_chunk.data(), plain_chunk.size(), plain)) return plain_chunk;
    std::unique_ptr<ZSTD_CCtx, std::size_t (*)(ZSTD_CCtx*)> context(ZSTD_createCCtx(), ZSTD_freeCCtx);
    std::vector<std::uint8_t> out(kMaxCompressedHeaderSize + plain_chunk.size());
    const CompressedChunk compressed =
        context ? compress_chunk(context.get(), level, plain, plain_chunk.size(), out.data(), out.size()) : CompressedChunk{};
    if (compressed.size == 0) return plain_chunk;
    return std::vector<std::uint8_t>(compressed.data, compressed.data + compressed.size);
}

std::size_t reseal_chunk(std::uint8_t* chunk, std::size_t available) {
    ByteCursor in{chunk, chunk + available};
    std::uint8_t tag = 0;
    std::uint64_t length = 0;
    if (!in.byte(tag) || (tag != kChunkTag && tag != kCompressedChunkTag) || !in.varint(length)) return 0;
    if (length < kChecksumSize || length > static_cast<std::uint64_t>(in.end - in.cursor)) return 0;
    std::uint8_t* field = chunk + (in.cursor - chunk);
    put_checksum(field, chunk_checksum(length, field + kChecksumSize, static_cast<std::size_t>(length) - kChecksumSize));
    return static_cast<std::size_t>(field - chunk) + static_cast<std::size_t>(length);
}

} // namespace memopt::trace
