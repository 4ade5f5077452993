#pragma once
// Where finished chunks go. In the preload library: the trace file descriptor. In unit
// tests: a callback that keeps the bytes in memory, so the encoder round-trips without
// preloading anything.
#include <cstddef>
#include <cstdint>

namespace memopt::preload {

using ChunkWriter = bool (*)(const std::uint8_t* data, std::size_t size) noexcept;

// Sends to file descriptor `fd` (retrying short writes and EINTR).
void sink_use_fd(int fd) noexcept;
// Sends to `writer` instead (tests).
void sink_use_writer(ChunkWriter writer) noexcept;
int sink_fd() noexcept;

// One chunk, in one write(2) when the descriptor allows. Returns false when the bytes could
// not be written; the caller then turns the tracer off.
bool sink_write_signal_safe(const std::uint8_t* data, std::size_t size) noexcept;

// Writes a one-line message to stderr with write(2): the only way the tracer speaks.
void say_signal_safe(const char* message) noexcept;

} // namespace memopt::preload
