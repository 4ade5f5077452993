#include "profiler/preload/sink.h"

#include "profiler/preload/compressor.h"
#include "profiler/trace/checksum.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

namespace memopt::preload {
namespace {

constexpr std::size_t kPathMax = 4096;

std::atomic<int> g_fd{-1};
std::atomic<ChunkWriter> g_writer{nullptr};
FileIdentity g_identity;
char g_path[kPathMax];
std::atomic<const char*> g_failure{"cannot write the trace file"};
// Room kept below RLIMIT_FSIZE for the TracerError record that says the trace stopped.
constexpr std::size_t kSizeLimitReserve = 1024;
__thread bool t_use_reserve __attribute__((tls_model("initial-exec"))) = false;

bool fail(const char* why) noexcept {
    g_failure.store(why);
    return false;
}

// The trace's descriptor after reopening it by path, or -1 when the file at the path is not
// the trace any more (deleted, replaced).
int reopen_trace(int stale) noexcept {
    if (!g_path[0]) return -1;
    int fd = ::open(g_path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -1;
    if (!descriptor_is(fd, g_identity)) {
        ::close(fd);
        return -1;
    }
    fd = move_descriptor_high(fd);
    int expected = stale;
    if (!g_fd.compare_exchange_strong(expected, fd)) { // another thread repaired it first
        ::close(fd);
        return expected;
    }
    return fd;
}

// Whether `size` more bytes would pass the program's RLIMIT_FSIZE (which it may lower at
// any time). `file_size` comes from the same fstat as the identity check.
bool within_size_limit(int fd, std::size_t size, bool& limited) noexcept {
    rlimit limit{};
    limited = ::getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY;
    if (!limited) return true;
    struct stat status{};
    if (::fstat(fd, &status) != 0) return true; // the write will say what is wrong
    const std::size_t reserve = t_use_reserve ? 0 : kSizeLimitReserve;
    return static_cast<rlim_t>(status.st_size) + size + reserve <= limit.rlim_cur;
}

bool write_all(int fd, const std::uint8_t* data, std::size_t size) noexcept {
    while (size > 0) {
        const ssize_t written = ::write(fd, data, size);
        if (written < 0) {
            if (errno == EINTR) continue;
            return fail(errno == EFBIG ? "the trace reached the program's file size limit (RLIMIT_FSIZE); tracing stopped"
                        : errno == ENOSPC ? "the disk holding the trace is full; tracing stopped"
                                          : "cannot write the trace file; tracing stopped");
        }
        if (written == 0) return fail("cannot write the trace file; tracing stopped");
        data += written;
        size -= static_cast<std::size_t>(written);
    }
    return true;
}

// write(2) with SIGXFSZ blocked, so a file size limit turns into EFBIG instead of killing
// the program; a SIGXFSZ our write raised is taken back, one the program had pending stays.
bool write_without_sigxfsz(int fd, const std::uint8_t* data, std::size_t size, bool limited) noexcept {
    sigset_t xfsz, previous, pending;
    sigemptyset(&xfsz);
    sigaddset(&xfsz, SIGXFSZ);
    ::pthread_sigmask(SIG_BLOCK, &xfsz, &previous);
    bool was_pending = false;
    if (limited && ::sigpending(&pending) == 0) was_pending = sigismember(&pending, SIGXFSZ) == 1;
    const bool ok = write_all(fd, data, size);
    if (!ok && limited && !was_pending) {
        const timespec now{0, 0};
        while (::sigtimedwait(&xfsz, nullptr, &now) == SIGXFSZ) {
        }
    }
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    return ok;
}

} // namespace

void sink_use_file(int fd, const char* path) noexcept {
    g_writer.store(nullptr);
    g_identity = identity_of(fd);
    const std::size_t n = path ? ::strnlen(path, kPathMax - 1) : 0;
    std::memcpy(g_path, path, n);
    g_path[n] = '\0';
    g_fd.store(fd);
}

void sink_use_reserve(bool use) noexcept { t_use_reserve = use; }

void sink_use_writer(ChunkWriter writer) noexcept { g_writer.store(writer); }

int sink_fd() noexcept { return g_fd.load(std::memory_order_relaxed); }

FileIdentity sink_identity() noexcept { return g_identity; }

int sink_checked_fd() noexcept {
    const int fd = g_fd.load(std::memory_order_relaxed);
    if (fd >= 0 && descriptor_is(fd, g_identity)) return fd;
    return reopen_trace(fd);
}

bool sink_write_signal_safe(std::uint8_t* start, std::uint8_t* body, std::size_t body_size) noexcept {
    const std::uint8_t* data = start;
    std::size_t size = static_cast<std::size_t>(body + body_size - start);
    CompressionLease lease; // holds the compressed bytes until they are written
    if (const trace::CompressedChunk compressed = lease.compress(data, size); compressed.size) {
        data = compressed.data;
        size = compressed.size;
    } else {
        trace::seal_chunk(body, body_size);
    }
    if (ChunkWriter writer = g_writer.load(std::memory_order_relaxed)) return writer(data, size);
    const int fd = sink_checked_fd();
    if (fd < 0)
        return fail("the trace file was closed or replaced under the tracer and cannot be reopened; tracing stopped");
    bool limited = false;
    if (!within_size_limit(fd, size, limited))
        return fail("the trace reached the program's file size limit (RLIMIT_FSIZE); tracing stopped");
    return write_without_sigxfsz(fd, data, size, limited);
}

const char* sink_failure() noexcept { return g_failure.load(); }

void say_signal_safe(const char* message) noexcept {
    static const char prefix[] = "memopt: ";
    [[maybe_unused]] ssize_t ignored = ::write(STDERR_FILENO, prefix, sizeof prefix - 1);
    ignored = ::write(STDERR_FILENO, message, std::strlen(message));
    ignored = ::write(STDERR_FILENO, "\n", 1);
}

} // namespace memopt::preload
