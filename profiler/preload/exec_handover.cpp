// exec: hands the trace descriptor over to the new image (process.h).
#include "profiler/preload/descriptors.h"
#include "profiler/preload/process.h"
#include "profiler/preload/reentrancy_guard.h"
#include "profiler/preload/sink.h"
#include "profiler/preload/thread_buffer.h"
#include "profiler/preload/tracer.h"
#include "profiler/trace/format.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace memopt::preload {
namespace {

constexpr char kFdPrefix[] = "MEMOPT_TRACE_FD=";
constexpr char kOwnerPrefix[] = "MEMOPT_TRACE_OWNER=";
constexpr char kTracePrefix[] = "MEMOPT_TRACE=";
constexpr std::size_t kEntryBytes = 64; // room for each of the two entries written here

bool starts_with(const char* text, const char* prefix, std::size_t prefix_length) noexcept {
    return std::strncmp(text, prefix, prefix_length) == 0;
}

char* write_entry(char* out, const char* prefix, std::size_t prefix_length, unsigned long value) noexcept {
    std::memcpy(out, prefix, prefix_length);
    *put_decimal(out + prefix_length, value) = '\0';
    return out;
}

// A copy of `envp` with the two entries that name the handed-over descriptor replaced, in
// memory from mmap (no malloc: exec may be called from a signal handler).
char** environment_naming(char* const* envp, int fd, ExecHandover& handover) noexcept {
    std::size_t count = 0;
    while (envp[count]) ++count;
    const std::size_t bytes = (count + 3) * sizeof(char*) + 2 * kEntryBytes;
    void* memory = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) return nullptr;
    auto** env = static_cast<char**>(memory);
    char* strings = reinterpret_cast<char*>(env + count + 3);
    std::size_t kept = 0;
    for (std::size_t i = 0; i < count; ++i) {
        if (starts_with(envp[i], kFdPrefix, sizeof kFdPrefix - 1) ||
            starts_with(envp[i], kOwnerPrefix, sizeof kOwnerPrefix - 1))
            continue;
        env[kept++] = envp[i];
    }
    env[kept++] = write_entry(strings, kFdPrefix, sizeof kFdPrefix - 1, static_cast<unsigned long>(fd));
    env[kept++] = write_entry(strings + kEntryBytes, kOwnerPrefix, sizeof kOwnerPrefix - 1,
                              static_cast<unsigned long>(::syscall(SYS_getpid)));
    env[kept] = nullptr;
    handover.memory = memory;
    handover.bytes = bytes;
    return env;
}

bool will_be_traced(char* const* envp) noexcept {
    for (std::size_t i = 0; envp && envp[i]; ++i)
        if (starts_with(envp[i], kTracePrefix, sizeof kTracePrefix - 1)) return true;
    return false;
}

} // namespace

char* const* prepare_exec(char* const* envp, ExecHandover& handover) noexcept {
    if (!tracer_active() || !is_tracer_owner()) return envp; // vfork child: parent's memory
    const bool interrupted = thread_inside_tracer();
    ReentrancyGuard guard;
    flush_all_buffers(true, interrupted);
    if (!will_be_traced(envp)) return envp; // the program cleared the environment
    const int fd = sink_checked_fd();
    if (fd < 0) {
        tracer_stop("the trace file was closed under the tracer and cannot be reopened; the exec'd program is not traced");
        return envp;
    }
    char** env = environment_naming(envp, fd, handover);
    if (!env || ::fcntl(fd, F_SETFD, 0) != 0) {
        if (env) ::munmap(handover.memory, handover.bytes);
        record_tracer_error("cannot hand the trace over to the exec'd program; it writes a trace file of its own");
        return envp;
    }
    handover.armed = true;
    handover.fd = fd;
    return env;
}

void after_failed_exec(ExecHandover& handover) noexcept {
    if (!handover.armed) return;
    const int saved = errno;
    ReentrancyGuard guard;
    ::fcntl(handover.fd, F_SETFD, FD_CLOEXEC);
    ::munmap(handover.memory, handover.bytes);
    handover.armed = false;
    errno = saved;
}

} // namespace memopt::preload
