#include "profiler/preload/process.h"

#include "profiler/preload/descriptors.h"
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
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace memopt::preload {
namespace {

using trace::ProcessOrigin;

constexpr std::size_t kPathMax = 4096;
constexpr const char* kEnvTraceOwner = "MEMOPT_TRACE_OWNER"; // set by prepare_exec
char g_base_path[kPathMax];  // MEMOPT_TRACE
pid_t g_root_pid = 0;
pid_t g_pid = 0;             // pid that owns the tracer state and the current trace file

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

// "BASE.PID" for the first attempt, "BASE.PID.N" after that.
void child_trace_path(pid_t pid, unsigned attempt, char* out) noexcept {
    std::size_t n = ::strnlen(g_base_path, kPathMax - 48);
    std::memcpy(out, g_base_path, n);
    char* end = out + n;
    *end++ = '.';
    end = put_decimal(end, static_cast<unsigned long>(pid));
    if (attempt > 0) {
        *end++ = '.';
        end = put_decimal(end, attempt);
    }
    *end = '\0';
}

// The path `fd` is open on, when it is a regular file of this run's traces (BASE or BASE.*).
bool trace_of_this_run(int fd, char* path) noexcept {
    char link[32] = "/proc/self/fd/";
    *put_decimal(link + std::strlen(link), static_cast<unsigned long>(fd)) = '\0';
    const ssize_t length = ::readlink(link, path, kPathMax - 1);
    if (length < 0) return false;
    path[length] = '\0';
    struct stat status{};
    if (::fstat(fd, &status) != 0 || !S_ISREG(status.st_mode)) return false;
    const std::size_t base = std::strlen(g_base_path);
    return std::strncmp(path, g_base_path, base) == 0 && (path[base] == '\0' || path[base] == '.');
}

// Creates this process's own trace file (first free name) on a high descriptor.
bool create_own_trace() noexcept {
    char path[kPathMax];
    int fd = -1;
    for (unsigned attempt = 0; fd < 0 && attempt < 100000; ++attempt) {
        child_trace_path(g_pid, attempt, path);
        fd = ::open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST) return false;
    }
    if (fd < 0) return false;
    std::uint8_t header[trace::kFileHeaderSize] = {};
    std::memcpy(header, trace::kMagic, sizeof trace::kMagic);
    header[8] = static_cast<std::uint8_t>(trace::kFormatVersion & 0xff);
    header[9] = static_cast<std::uint8_t>(trace::kFormatVersion >> 8);
    if (::write(fd, header, sizeof header) != static_cast<ssize_t>(sizeof header)) {
        ::close(fd);
        return false;
    }
    sink_use_file(move_descriptor_high(fd), path);
    return true;
}

// The command line of this process into its own trace (not the launched program's file:
// `memopt record` wrote that command itself), so a child's report says what it ran. Whole
// words only, at most 4 KiB of them; open/read/close only (runs in the fork child handler).
void record_own_command() noexcept {
    const int fd = ::open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    char words[4096];
    ssize_t n = 0;
    while (n < static_cast<ssize_t>(sizeof words)) {
        const ssize_t got = ::read(fd, words + n, sizeof words - static_cast<std::size_t>(n));
        if (got <= 0) break;
        n += got;
    }
    ::close(fd);
    while (n > 0 && words[n - 1] != '\0') --n; // a word cut at the end is left out
    if (n > 0) record_command(words, static_cast<std::size_t>(n));
}

void after_fork_in_child() noexcept {
    if (!tracer_active()) return;
    ReentrancyGuard guard;
    reset_buffers_after_fork();
    reset_stacks_after_fork();
    forget_sampler_after_fork();
    tracer_reset_sequence();
    g_pid = real_pid();
    const int parent_fd = sink_fd();
    const FileIdentity parent = sink_identity();
    if (!create_own_trace()) {
        // Still on the parent's descriptor: the parent's trace says which child is missing.
        char message[128] = "cannot create the trace file of forked child ";
        *put_decimal(message + std::strlen(message), static_cast<unsigned long>(g_pid)) = '\0';
        record_tracer_error(message);
        tracer_disable("cannot create the trace file of a forked child; it is not traced");
    }
    if (parent_fd >= 0 && descriptor_is(parent_fd, parent)) ::close(parent_fd);
    if (!tracer_active()) return;
    record_process_start(ProcessOrigin::kForked);
    record_own_command();
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

void note_untraced_threads() noexcept {
    const std::uint64_t untraced = untraced_thread_count();
    if (untraced == 0) return;
    char message[160];
    char* end = put_decimal(message, untraced);
    const char text[] = " threads were not traced (more alive at once than the tracer's buffers); "
                        "their allocations are missing";
    std::memcpy(end, text, sizeof text);
    record_tracer_error(message);
}

// Exit, in the process that owns the tracer state only. May run in a signal handler that
// interrupted the tracer on this thread (the guard already held): then nothing waits for
// this thread's own buffer.
void finish() noexcept {
    if (!tracer_active() || !is_tracer_owner()) return;
    const bool interrupted = thread_inside_tracer();
    note_untraced_threads();
    record_process_exit(read_vm_hwm_kib());
    ReentrancyGuard guard;
    flush_all_buffers(true, interrupted);
    tracer_set_active(false);
}

// The inherited trace descriptor, when it was handed to this very process.
bool adopt_inherited_trace() noexcept {
    const auto fd = static_cast<int>(env_number(trace::kEnvTraceFd, static_cast<std::uint64_t>(-1)));
    const auto owner = static_cast<pid_t>(env_number(kEnvTraceOwner, static_cast<std::uint64_t>(g_root_pid)));
    char path[kPathMax];
    if (fd < 0 || owner != g_pid || !trace_of_this_run(fd, path)) return false;
    sink_use_file(move_descriptor_high(fd), path);
    return true;
}

__attribute__((constructor)) void initialize() noexcept {
    ReentrancyGuard guard;
    real_functions_ready();
    const char* base = ::getenv(trace::kEnvTracePath);
    if (!base || !*base) return; // loaded without `memopt record`: stay out of the way
    if (std::strlen(base) >= kPathMax - 48) {
        say_signal_safe("trace path too long; not tracing");
        return;
    }
    std::strcpy(g_base_path, base);
    g_root_pid = static_cast<pid_t>(env_number(trace::kEnvRootPid, 0));
    g_pid = real_pid();

    TracerConfig config;
    config.stack_sample_bytes = env_number(trace::kEnvStackBytes, 0);
    config.interval_ms = static_cast<unsigned>(env_number(trace::kEnvIntervalMs, 10));
    config.max_threads = static_cast<std::size_t>(env_number("MEMOPT_MAX_THREADS", 0)); // tests
    tracer_configure(config);

    ProcessOrigin origin = ProcessOrigin::kExeced;
    if (!adopt_inherited_trace()) {
        origin = ProcessOrigin::kSpawned;
        if (!create_own_trace()) {
            say_signal_safe("cannot create this process's trace file; it is not traced");
            return;
        }
    }
    tracer_set_active(true);
    record_process_start(origin);
    if (origin == ProcessOrigin::kSpawned || g_pid != g_root_pid) record_own_command();
    flush_current_thread();
    ::pthread_atfork(nullptr, nullptr, after_fork_in_child);
    start_sampler();
}

__attribute__((destructor)) void finalize() noexcept { finish(); }

} // namespace

bool is_tracer_owner() noexcept { return real_pid() == g_pid; }

void before_exit_now() noexcept { finish(); }

} // namespace memopt::preload
