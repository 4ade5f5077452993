#include "profiler/preload/process.h"

#include "profiler/preload/real_functions.h"
#include "profiler/preload/reentrancy_guard.h"
#include "profiler/preload/sink.h"
#include "profiler/preload/stacks.h"
#include "profiler/preload/thread_buffer.h"
#include "profiler/preload/tracer.h"
#include "profiler/trace/format.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace memopt::preload {
namespace {

using trace::ProcessOrigin;

constexpr std::size_t kPathMax = 4096;
char g_base_path[kPathMax];  // MEMOPT_TRACE
int g_trace_fd = -1;         // the descriptor number every image of this process uses
pid_t g_root_pid = 0;
pid_t g_pid = 0;             // pid that owns the current trace file

pid_t real_pid() noexcept { return static_cast<pid_t>(::syscall(SYS_getpid)); }

std::uint64_t env_number(const char* name, std::uint64_t fallback) noexcept {
    const char* text = ::getenv(name);
    if (!text || !*text) return fallback;
    std::uint64_t value = 0;
    for (; *text; ++text) {
        if (*text < '0' || *text > '9') return fallback;
        value = value * 10 + static_cast<std::uint64_t>(*text - '0');
    }
    return value;
}

// "BASE" for the root process, "BASE.PID" for every other.
void trace_path_for(pid_t pid, char* out) noexcept {
    std::size_t n = ::strnlen(g_base_path, kPathMax - 24);
    std::memcpy(out, g_base_path, n);
    if (pid != g_root_pid) {
        char digits[24];
        int count = 0;
        for (auto value = static_cast<unsigned long>(pid); value; value /= 10)
            digits[count++] = static_cast<char>('0' + value % 10);
        out[n++] = '.';
        while (count) out[n++] = digits[--count];
    }
    out[n] = '\0';
}

bool descriptor_names(int fd, const char* path) noexcept {
    char link[32] = "/proc/self/fd/";
    char digits[12];
    int count = 0;
    for (auto value = static_cast<unsigned>(fd); value || count == 0; value /= 10)
        digits[count++] = static_cast<char>('0' + value % 10);
    std::size_t n = std::strlen(link);
    while (count) link[n++] = digits[--count];
    link[n] = '\0';
    char target[kPathMax];
    const ssize_t length = ::readlink(link, target, sizeof target - 1);
    if (length < 0) return false;
    target[length] = '\0';
    return std::strcmp(target, path) == 0;
}

// A descriptor that names the root trace of this run (inherited by a spawned child) may be
// taken over; anything else the program opened on that number is left alone.
bool names_root_trace(int fd) noexcept {
    char root[kPathMax];
    trace_path_for(g_root_pid, root);
    return descriptor_names(fd, root);
}

// Creates this process's own trace file and puts it on the shared descriptor number.
bool create_own_trace() noexcept {
    char path[kPathMax];
    trace_path_for(g_pid, path);
    const int fd = ::open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_APPEND, 0600);
    if (fd < 0) return false;
    std::uint8_t header[trace::kFileHeaderSize] = {};
    std::memcpy(header, trace::kMagic, sizeof trace::kMagic);
    header[8] = static_cast<std::uint8_t>(trace::kFormatVersion & 0xff);
    header[9] = static_cast<std::uint8_t>(trace::kFormatVersion >> 8);
    if (::write(fd, header, sizeof header) != static_cast<ssize_t>(sizeof header)) {
        ::close(fd);
        return false;
    }
    int target = fd;
    if (g_trace_fd >= 0 && g_trace_fd != fd) {
        const bool slot_free = ::fcntl(g_trace_fd, F_GETFD) < 0;
        if (slot_free || names_root_trace(g_trace_fd)) {
            if (::dup2(fd, g_trace_fd) >= 0) {
                ::close(fd);
                target = g_trace_fd;
            }
        }
    }
    g_trace_fd = target;
    sink_use_fd(target);
    return true;
}

void after_fork_in_child() noexcept {
    if (!tracer_active()) return;
    ReentrancyGuard guard;
    reset_buffers_after_fork();
    reset_stacks_after_fork();
    forget_sampler_after_fork();
    tracer_reset_sequence();
    g_pid = real_pid();
    if (!create_own_trace()) {
        tracer_disable("cannot create the trace file of a forked child; it is not traced");
        return;
    }
    record_process_start(ProcessOrigin::kForked);
    flush_current_thread();
    start_sampler();
}

std::uint64_t read_vm_hwm_kib() noexcept {
    const int fd = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char text[4096];
    const ssize_t n = ::read(fd, text, sizeof text - 1);
    ::close(fd);
    if (n <= 0) return 0;
    text[n] = '\0';
    const char* line = std::strstr(text, "VmHWM:");
    if (!line) return 0;
    line += 6;
    while (*line == ' ' || *line == '\t') ++line;
    std::uint64_t value = 0;
    while (*line >= '0' && *line <= '9') value = value * 10 + static_cast<std::uint64_t>(*line++ - '0');
    return value;
}

void finish() noexcept {
    if (!tracer_active() || real_pid() != g_pid) return;
    record_process_exit(read_vm_hwm_kib());
    ReentrancyGuard guard;
    flush_all_buffers(true);
}

__attribute__((constructor)) void initialize() noexcept {
    ReentrancyGuard guard;
    real_functions_ready();
    const char* base = ::getenv(trace::kEnvTracePath);
    if (!base || !*base) return; // loaded without `memopt record`: stay out of the way
    if (std::strlen(base) >= kPathMax - 24) {
        say_signal_safe("trace path too long; not tracing");
        return;
    }
    std::strcpy(g_base_path, base);
    g_trace_fd = static_cast<int>(env_number(trace::kEnvTraceFd, static_cast<std::uint64_t>(-1)));
    g_root_pid = static_cast<pid_t>(env_number(trace::kEnvRootPid, 0));
    g_pid = real_pid();

    TracerConfig config;
    config.stack_sample_bytes = env_number(trace::kEnvStackBytes, 0);
    config.interval_ms = static_cast<unsigned>(env_number(trace::kEnvIntervalMs, 10));
    tracer_configure(config);

    char own_path[kPathMax];
    trace_path_for(g_pid, own_path);
    ProcessOrigin origin = ProcessOrigin::kExeced;
    if (g_trace_fd >= 0 && descriptor_names(g_trace_fd, own_path)) {
        sink_use_fd(g_trace_fd);
    } else {
        origin = ProcessOrigin::kSpawned;
        if (!create_own_trace()) {
            say_signal_safe("cannot create this process's trace file; it is not traced");
            return;
        }
    }
    tracer_set_active(true);
    record_process_start(origin);
    flush_current_thread();
    ::pthread_atfork(nullptr, nullptr, after_fork_in_child);
    start_sampler();
}

__attribute__((destructor)) void finalize() noexcept {
    finish();
    tracer_set_active(false);
}

} // namespace

void before_exec() noexcept {
    if (!tracer_active() || real_pid() != g_pid) return; // vfork child: parent's memory
    ReentrancyGuard guard;
    flush_all_buffers(true);
}

void before_exit_now() noexcept {
    finish();
    tracer_set_active(false);
}

} // namespace memopt::preload
