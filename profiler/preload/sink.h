#pragma once
// Where finished chunks go. In the preload library: the trace file, through a descriptor
// the sink checks before every write. In unit tests: a callback that keeps the bytes in
// memory, so the encoder round-trips without preloading anything.
//
// The program owns every descriptor number, so before each chunk the sink checks (fstat:
// st_dev, st_ino) that its number still names the trace file it opened. If the program
// closed it (closerange before exec) or put its own file there (dup2), the sink reopens the
// trace by path (O_APPEND, O_NOFOLLOW), checks it is the same file, moves it to a high
// number and goes on; it never writes a chunk into any other file. Writes stay below the
// program's RLIMIT_FSIZE and run with SIGXFSZ blocked: the limit ends the trace, never the
// program. All of it is async-signal-safe.
#include "profiler/preload/descriptors.h"

#include <cstddef>
#include <cstdint>

namespace memopt::preload {

using ChunkWriter = bool (*)(const std::uint8_t* data, std::size_t size) noexcept;

// Sends to descriptor `fd`, which names the trace file at `path` (kept for reopening).
void sink_use_file(int fd, const char* path) noexcept;
// Sends to `writer` instead (tests).
void sink_use_writer(ChunkWriter writer) noexcept;
int sink_fd() noexcept;
FileIdentity sink_identity() noexcept;
// Makes sure the descriptor still names the trace (reopening it when needed); returns it,
// or -1 when the trace cannot be reached any more.
int sink_checked_fd() noexcept;

// One chunk, in one write(2) when the descriptor allows: the plain chunk
// [start, body + body_size) whose checksum field is not filled yet
// (trace::prepend_unsealed_chunk_head), compressed first when zstd makes it smaller
// (compressor.h; both the file and a test writer get it so), else sealed here: the plain
// checksum is computed only for chunks that go out plain. Returns false when the bytes could
// not be written; sink_failure() then says why, and the caller turns the tracer off.
bool sink_write_signal_safe(std::uint8_t* start, std::uint8_t* body, std::size_t body_size) noexcept;
const char* sink_failure() noexcept;
// Chunks keep 1 KiB below RLIMIT_FSIZE free, except on a thread that set this: the
// TracerError record saying why the trace stopped still fits.
void sink_use_reserve(bool use) noexcept;

// Writes a one-line message to stderr with write(2): the only way the tracer speaks.
void say_signal_safe(const char* message) noexcept;

} // namespace memopt::preload
