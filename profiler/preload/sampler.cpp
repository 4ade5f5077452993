#include "profiler/preload/descriptors.h"
#include "profiler/preload/process.h"
#include "profiler/preload/reentrancy_guard.h"
#include "profiler/preload/thread_buffer.h"
#include "profiler/preload/tracer.h"

#include <atomic>
#include <csignal>
#include <ctime>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

namespace memopt::preload {
namespace {

// Buffers go out at least this often: bounds what SIGKILL loses and how far apart in the
// file the records of different threads can be (the reader holds that window in memory).
constexpr std::uint64_t kFlushPeriodNs = 20'000'000;
// /proc/self/statm on a high close-on-exec descriptor, checked before each read: a program
// that dup2s its own file onto the number must not have it read.
std::atomic<int> g_statm_fd{-1};
FileIdentity g_statm_identity;

int statm_descriptor() noexcept {
    const int fd = g_statm_fd.load();
    if (fd >= 0 && descriptor_is(fd, g_statm_identity)) return fd;
    // Gone or the program's now: leave that number alone and open our own again.
    int fresh = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fresh >= 0) fresh = move_descriptor_high(fresh);
    g_statm_identity = identity_of(fresh);
    g_statm_fd.store(fresh);
    return fresh;
}

bool read_resident_pages(int fd, std::uint64_t& pages) noexcept {
    char text[128];
    const ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
    if (n <= 0) return false;
    text[n] = '\0';
    const char* p = text;
    while (*p && *p != ' ') ++p; // skip total size
    while (*p == ' ') ++p;
    pages = 0;
    while (*p >= '0' && *p <= '9') pages = pages * 10 + static_cast<std::uint64_t>(*p++ - '0');
    return true;
}

void* sampler_main(void*) {
    clear_thread_flags();
    const unsigned interval_ms = tracer_config().interval_ms ? tracer_config().interval_ms : 10;
    const std::uint64_t period_ns =
        std::min<std::uint64_t>(static_cast<std::uint64_t>(interval_ms) * 1'000'000, kFlushPeriodNs);
    std::uint64_t next_sample = monotonic_ns();
    std::uint64_t last_flush = next_sample;
    while (tracer_active()) {
        std::uint64_t now = monotonic_ns();
        if (now >= next_sample) {
            std::uint64_t pages = 0;
            const int fd = statm_descriptor();
            if (fd >= 0 && read_resident_pages(fd, pages)) record_rss(pages);
            next_sample += static_cast<std::uint64_t>(interval_ms) * 1'000'000;
            if (next_sample < now) next_sample = now + interval_ms * 1'000'000ull;
        }
        if (now - last_flush >= kFlushPeriodNs) {
            ReentrancyGuard guard;
            flush_all_buffers(false);
            last_flush = now;
        }
        now = monotonic_ns();
        const std::uint64_t wake = std::min(next_sample, last_flush + kFlushPeriodNs);
        if (wake > now) {
            const std::uint64_t wait = std::min(wake - now, period_ns);
            timespec pause{static_cast<time_t>(wait / 1'000'000'000),
                           static_cast<long>(wait % 1'000'000'000)};
            ::nanosleep(&pause, nullptr);
        }
    }
    return nullptr;
}

} // namespace

void start_sampler() noexcept {
    // The sampler must never receive the program's signals: block them all while creating it.
    sigset_t all, previous;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &previous);
    pthread_attr_t attributes;
    ::pthread_attr_init(&attributes);
    ::pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    ::pthread_attr_setstacksize(&attributes, 64 * 1024);
    pthread_t thread;
    if (::pthread_create(&thread, &attributes, sampler_main, nullptr) != 0)
        tracer_disable("cannot start the RSS sampler thread; tracing stopped");
    ::pthread_attr_destroy(&attributes);
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

void forget_sampler_after_fork() noexcept {
    // The parent's sampler thread does not exist here; its statm descriptor names the parent.
    const int fd = g_statm_fd.exchange(-1);
    if (fd >= 0 && descriptor_is(fd, g_statm_identity)) ::close(fd);
}

} // namespace memopt::preload
