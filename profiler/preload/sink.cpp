#include "profiler/preload/sink.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace memopt::preload {
namespace {

std::atomic<int> g_fd{-1};
std::atomic<ChunkWriter> g_writer{nullptr};

} // namespace

void sink_use_fd(int fd) noexcept {
    g_writer.store(nullptr);
    g_fd.store(fd);
}

void sink_use_writer(ChunkWriter writer) noexcept { g_writer.store(writer); }

int sink_fd() noexcept { return g_fd.load(std::memory_order_relaxed); }

bool sink_write_signal_safe(const std::uint8_t* data, std::size_t size) noexcept {
    if (ChunkWriter writer = g_writer.load(std::memory_order_relaxed)) return writer(data, size);
    const int fd = g_fd.load(std::memory_order_relaxed);
    if (fd < 0) return false;
    while (size > 0) {
        const ssize_t written = ::write(fd, data, size);
        if (written < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        if (written == 0) return false;
        data += written;
        size -= static_cast<std::size_t>(written);
    }
    return true;
}

void say_signal_safe(const char* message) noexcept {
    static const char prefix[] = "memopt: ";
    [[maybe_unused]] ssize_t ignored = ::write(STDERR_FILENO, prefix, sizeof prefix - 1);
    ignored = ::write(STDERR_FILENO, message, std::strlen(message));
    ignored = ::write(STDERR_FILENO, "\n", 1);
}

} // namespace memopt::preload
