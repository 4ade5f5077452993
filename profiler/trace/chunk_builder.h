#pragma once
// Builds trace chunks in ordinary memory: used by `memopt record` for the records it adds
// itself (command line, exit status) and by tests to write synthetic and corrupt traces.
#include "profiler/trace/encoding.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace memopt::trace {

std::vector<std::uint8_t> file_header(std::uint16_t version = kFormatVersion);

class ChunkBuilder {
  public:
    ChunkBuilder(std::uint64_t tid, std::uint64_t first_seq) : tid_(tid), first_seq_(first_seq) {}

    ChunkBuilder& varint(std::uint64_t value);
    ChunkBuilder& byte(std::uint8_t value);
    ChunkBuilder& text(std::string_view value); // varint length + bytes
    ChunkBuilder& extended(ExtendedType type);
    // An allocation-kind record with the chunk's running address delta.
    ChunkBuilder& event(RecordKind kind, std::uint64_t address, std::uint64_t size = 0);

    // Tag, length, checksum, tid, first_seq, payload. Version 1 (for tests of old traces)
    // leaves the checksum out.
    std::vector<std::uint8_t> finish(std::uint16_t version = kFormatVersion) const;
    // The same chunk compressed (kCompressedChunkTag), as the preload library writes it; the
    // plain chunk when zstd does not make it smaller.
    std::vector<std::uint8_t> finish_compressed(int level = 1) const;

  private:
    std::uint64_t tid_;
    std::uint64_t first_seq_;
    std::uint64_t last_units_ = 0;
    std::vector<std::uint8_t> payload_;
};

// Recomputes the checksum of the version-2 chunk (plain or compressed) that starts at `chunk` (with `available`
// bytes readable from there) so that it verifies whatever its body now holds. Returns the
// chunk's size, 0 when no complete chunk starts there. The fuzzers use it to get mutated
// chunks past the checksum.
std::size_t reseal_chunk(std::uint8_t* chunk, std::size_t available);

} // namespace memopt::trace
