#pragma once
// zstd for the sink (format.h, kCompressedChunkTag). A small pool of compression contexts,
// each in one anonymous mapping made the first time it is needed and kept for the life of
// the process: ZSTD_initStaticCCtx puts zstd's whole state in that workspace, so compressing
// never calls malloc (no reentrancy) and takes no lock (signal-safe).
//
// A chunk takes a free context without waiting. When every context is busy (more threads
// flushing at once than the pool holds, or a signal handler interrupting a flush on its own
// thread), or when zstd fails or does not make the chunk smaller, the chunk goes out plain;
// the reader takes both kinds.
//
// Fork: a context that another thread of the parent held at the fork would stay busy in the
// child for ever; each holder is marked with its process id, so the child takes such a
// context back. Exec: the new image configures its own pool.
#include "profiler/trace/chunk_compression.h"

#include <cstddef>
#include <cstdint>

namespace memopt::preload {

struct CompressionSlot; // compressor.cpp
// Contexts in use at once (each about 0.6 MiB of address space once made, at level 1).
inline constexpr std::size_t kCompressionContexts = 8;

// zstd level 1-3 for the chunks compressed from now on; 0 turns compression off.
void compression_configure(int level) noexcept;
int compression_level() noexcept;

// One context of the pool, held until the chunk it compressed has been written.
class CompressionLease {
  public:
    CompressionLease() noexcept = default;
    ~CompressionLease();
    CompressionLease(const CompressionLease&) = delete;
    CompressionLease& operator=(const CompressionLease&) = delete;

    // The compressed form of the plain chunk [chunk, chunk + size), in the lease's own
    // buffer; size 0 when the chunk should go out as it is.
    trace::CompressedChunk compress(const std::uint8_t* chunk, std::size_t size) noexcept;

  private:
    CompressionSlot* slot_ = nullptr;
};

} // namespace memopt::preload
