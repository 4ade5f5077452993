// The interposition layer: exported libc-named forwarders generated from hook_list.h, each
// calling a hook_NAME function here that asks the real function and tells the tracer core.
#include "profiler/preload/bootstrap_allocator.h"
#include "profiler/preload/fast_gate.h"
#include "profiler/preload/hook_list.h"
#include "profiler/preload/inprocess_api.h"
#include "profiler/preload/process.h"
#include "profiler/preload/real_functions.h"
#include "profiler/preload/record_fast.h"
#include "profiler/preload/reentrancy_guard.h"
#include "profiler/preload/thread_buffer.h"
#include "profiler/preload/tracer.h"

#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <dlfcn.h>
#include <sys/mman.h>
#include <unistd.h>

namespace memopt::preload {

RealFunctions g_real;

namespace {

using trace::RecordKind;

std::atomic<int> g_lookup_state{0}; // 0 not started, 1 in progress, 2 done
thread_local bool t_looking_up __attribute__((tls_model("initial-exec"))) = false;

void look_up_real_functions() noexcept {
    t_looking_up = true;
#define MEMOPT_LOOK_UP(ret, name, params, args)                                                \
    g_real.name = reinterpret_cast<decltype(g_real.name)>(::dlsym(RTLD_NEXT, #name));
    MEMOPT_ALL_HOOKS(MEMOPT_LOOK_UP)
#undef MEMOPT_LOOK_UP
    g_real.mremap = reinterpret_cast<decltype(g_real.mremap)>(::dlsym(RTLD_NEXT, "mremap"));
    g_real.exit_now = reinterpret_cast<decltype(g_real.exit_now)>(::dlsym(RTLD_NEXT, "_exit"));
    t_looking_up = false;
}

// True when the call should be recorded (and then the caller must hold a guard).
inline bool should_record() noexcept { return thread_may_record() && tracer_active(); }

template <typename Call>
void* traced_acquisition(RecordKind kind, std::size_t size, Call&& call) noexcept {
    if (!should_record()) return call();
    ReentrancyGuard guard;
    void* result = call();
    if (result && !record_allocation_fast(kind, result, size)) record_allocation(kind, result, size);
    return result;
}

// The hooks' inline path, while the fast gate is open (fast_gate.h: the tracer is on and
// the inline record needs no check of its own). Only the guard's byte is tested: an
// untraced thread has no buffer, so its events end in the full path, which drops them.
// (The buffer is read again after the real call rather than kept: keeping it costs a saved
// register, more than the load.)
// Everything but the inline record is out of line, so the hook itself needs no frame
// beyond the size it keeps across the call.
__attribute__((noinline)) void* acquired_in_full(RecordKind kind, void* result, std::size_t size) noexcept {
    if (result) record_allocation(kind, result, size);
    t_thread.inside_tracer = 0;
    return result;
}

// `Sampled`: stacks are sampled (kGateStacks), so the countdown is kept.
template <bool Sampled, typename Call>
inline void* gated_acquisition(RecordKind kind, std::size_t size, Call&& call) noexcept {
    if (__builtin_expect(thread_inside_tracer(), false)) return call();
    t_thread.inside_tracer = 1; // the guard, known to be the outermost
    void* result = call();
    if (__builtin_expect(result && (Sampled ? record_allocation_fast<true>(kind, result, size)
                                            : record_fast<true>(kind, result, size)),
                         true)) {
        t_thread.inside_tracer = 0;
        return result;
    }
    return acquired_in_full(kind, result, size);
}

// The old block's release takes its number before the call (tracer.h). realloc fails by
// returning NULL with the old block still valid (except realloc(p, 0), which frees p): the
// number is then filled with a placeholder, so the block stays live in the trace.
template <typename Call>
void* traced_resize(void* old, std::size_t size, Call&& call) noexcept {
    if (!should_record()) return call();
    ReentrancyGuard guard;
    const std::uint64_t release_seq = old ? take_sequence() : 0;
    const std::size_t old_size = old ? inprocess_block_size(old) : 0; // in-process totals; 0 when off
    void* result = call();
    if (old) {
        if (result || size == 0) record_release(RecordKind::kFree, old, old_size, release_seq);
        else record_placeholder(release_seq);
    }
    if (result && !record_allocation_fast(RecordKind::kRealloc, result, size))
        record_allocation(RecordKind::kRealloc, result, size);
    return result;
}

void* realloc_from_bootstrap(void* old, std::size_t size) noexcept;

__attribute__((noinline)) bool look_up_once() noexcept {
    if (t_looking_up) return false;
    int expected = 0;
    if (g_lookup_state.compare_exchange_strong(expected, 1)) {
        look_up_real_functions();
        g_lookup_state.store(2, std::memory_order_release);
        fast_gate_set(kGateNotLookedUp, false);
        return true;
    }
    while (g_lookup_state.load(std::memory_order_acquire) != 2) __builtin_ia32_pause();
    return true;
}

} // namespace

// The common case inline (hooks in this file); the lookup itself out of line.
bool real_functions_ready() noexcept {
    return g_lookup_state.load(std::memory_order_acquire) == 2 || look_up_once();
}

namespace {

// The hooks' general paths, out of line (gated_acquisition says why).
__attribute__((noinline)) void* malloc_in_full(size_t size) noexcept {
    if (!real_functions_ready()) return bootstrap_allocate(size);
    return traced_acquisition(RecordKind::kMalloc, size, [&] { return g_real.malloc(size); });
}

__attribute__((noinline)) void* calloc_in_full(size_t count, size_t size) noexcept {
    if (!real_functions_ready()) return bootstrap_allocate(count * size); // arena is zeroed
    return traced_acquisition(RecordKind::kCalloc, count * size,
                              [&] { return g_real.calloc(count, size); });
}

// Past a gate not open to the acquisitions' common case: the sampled variant when stacks
// are all that stands in the way (fast_gate.h), else the general path.
__attribute__((noinline)) void* malloc_past_gate(size_t size) noexcept {
    if (gate_open_but_variants(fast_gate()))
        return gated_acquisition<true>(RecordKind::kMalloc, size, [&] { return g_real.malloc(size); });
    return malloc_in_full(size);
}

__attribute__((noinline)) void* calloc_past_gate(size_t count, size_t size) noexcept {
    if (gate_open_but_variants(fast_gate()))
        return gated_acquisition<true>(RecordKind::kCalloc, count * size, [&] { return g_real.calloc(count, size); });
    return calloc_in_full(count, size);
}

} // namespace

void* hook_malloc(size_t size) noexcept {
    if (__builtin_expect(acquisition_gate_open(fast_gate()), true))
        return gated_acquisition<false>(RecordKind::kMalloc, size, [&] { return g_real.malloc(size); });
    return malloc_past_gate(size);
}

namespace {

// Not for a bootstrap block (the callers tell them apart).
__attribute__((noinline)) void free_in_full(void* ptr) noexcept {
    if (!real_functions_ready()) return;
    if (!should_record()) return g_real.free(ptr);
    ReentrancyGuard guard;
    // Numbered before the real call (tracer.h); the size the in-process totals count is the
    // block's usable size, also read before (inprocess_api.h; 0 when counting is off).
    const std::size_t size = inprocess_block_size(ptr);
    if (!record_free_fast(ptr)) record_release(RecordKind::kFree, ptr, size);
    g_real.free(ptr);
}

// free's inline record: gated_acquisition's path; numbered before the real call
// (tracer.h). The guard ends before it, so the call is a tail call: glibc's free calls no
// hook (its munmap is internal), and a signal handler that allocates meanwhile finds the
// event written. Caller checked the gate and that the thread is outside the tracer.
inline bool record_free_inline(void* ptr) noexcept {
    t_thread.inside_tracer = 1;
    const bool recorded = record_free_fast<true>(ptr);
    t_thread.inside_tracer = 0;
    return recorded;
}

// Past a gate not open to free's common case (or a null pointer, or inside the tracer):
// the bootstrap arena's blocks are recognised, then the same paths.
__attribute__((noinline)) void free_past_gate(void* ptr) noexcept {
    if (!ptr || is_bootstrap_block(ptr)) return;
    if (gate_open_but_variants(fast_gate()) && !thread_inside_tracer() && record_free_inline(ptr))
        return g_real.free(ptr);
    free_in_full(ptr);
}

} // namespace

// With the gate open to free there are no bootstrap blocks (kGateBootstrapBlocks), so the
// pointer is only tested for null.
void hook_free(void* ptr) noexcept {
    if (__builtin_expect(free_gate_open(fast_gate()) && ptr && !thread_inside_tracer(), true)) {
        if (__builtin_expect(record_free_inline(ptr), true)) return g_real.free(ptr);
        return free_in_full(ptr);
    }
    free_past_gate(ptr);
}

void* hook_calloc(size_t count, size_t size) noexcept {
    if (__builtin_expect(acquisition_gate_open(fast_gate()), true))
        return gated_acquisition<false>(RecordKind::kCalloc, count * size, [&] { return g_real.calloc(count, size); });
    return calloc_past_gate(count, size);
}

void* hook_realloc(void* ptr, size_t size) noexcept {
    if (ptr && is_bootstrap_block(ptr)) return realloc_from_bootstrap(ptr, size);
    if (!real_functions_ready()) return bootstrap_allocate(size);
    return traced_resize(ptr, size, [&] { return g_real.realloc(ptr, size); });
}

void* hook_reallocarray(void* ptr, size_t count, size_t size) noexcept {
    if (ptr && is_bootstrap_block(ptr)) return realloc_from_bootstrap(ptr, count * size);
    if (!real_functions_ready()) return bootstrap_allocate(count * size);
    return traced_resize(ptr, count * size,
                         [&] { return g_real.reallocarray(ptr, count, size); });
}

int hook_posix_memalign(void** out, size_t alignment, size_t size) noexcept {
    if (!real_functions_ready()) return ENOMEM;
    if (!should_record()) return g_real.posix_memalign(out, alignment, size);
    ReentrancyGuard guard;
    const int status = g_real.posix_memalign(out, alignment, size);
    if (status == 0 && !record_allocation_fast(RecordKind::kAligned, *out, size))
        record_allocation(RecordKind::kAligned, *out, size);
    return status;
}

void* hook_aligned_alloc(size_t alignment, size_t size) noexcept {
    if (!real_functions_ready()) return nullptr;
    return traced_acquisition(RecordKind::kAligned, size,
                              [&] { return g_real.aligned_alloc(alignment, size); });
}

void* hook_memalign(size_t alignment, size_t size) noexcept {
    if (!real_functions_ready()) return nullptr;
    return traced_acquisition(RecordKind::kAligned, size,
                              [&] { return g_real.memalign(alignment, size); });
}

void* hook_valloc(size_t size) noexcept {
    if (!real_functions_ready()) return nullptr;
    return traced_acquisition(RecordKind::kAligned, size, [&] { return g_real.valloc(size); });
}

void* hook_pvalloc(size_t size) noexcept {
    if (!real_functions_ready()) return nullptr;
    return traced_acquisition(RecordKind::kAligned, size, [&] { return g_real.pvalloc(size); });
}

template <typename Call>
void* traced_mapping(int flags, size_t length, Call&& call) noexcept {
    if (!(flags & MAP_ANONYMOUS) || !should_record()) return call();
    ReentrancyGuard guard;
    void* result = call();
    if (result != MAP_FAILED) record_allocation(RecordKind::kMmap, result, length);
    return result;
}

void* hook_mmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset) noexcept {
    if (!real_functions_ready()) return MAP_FAILED;
    return traced_mapping(flags, length,
                          [&] { return g_real.mmap(addr, length, prot, flags, fd, offset); });
}

void* hook_mmap64(void* addr, size_t length, int prot, int flags, int fd, off_t offset) noexcept {
    if (!real_functions_ready()) return MAP_FAILED;
    return traced_mapping(flags, length,
                          [&] { return g_real.mmap64(addr, length, prot, flags, fd, offset); });
}

int hook_munmap(void* addr, size_t length) noexcept {
    if (!real_functions_ready()) return -1;
    if (!should_record()) return g_real.munmap(addr, length);
    ReentrancyGuard guard;
    // Numbered before the call (tracer.h), and recorded even if it fails: no gap.
    record_release(RecordKind::kMunmap, addr, length);
    return g_real.munmap(addr, length);
}

// exec: prepare_exec hands over the trace descriptor and the environment that tells the
// new image about it; if exec returns (it failed), everything is put back.
int hook_execve(const char* path, char* const argv[], char* const envp[]) noexcept {
    real_functions_ready();
    ExecHandover handover;
    const int status = g_real.execve(path, argv, prepare_exec(envp, handover));
    after_failed_exec(handover);
    return status;
}

int hook_execv(const char* path, char* const argv[]) noexcept {
    real_functions_ready();
    ExecHandover handover;
    const int status = g_real.execve(path, argv, prepare_exec(environ, handover));
    after_failed_exec(handover);
    return status;
}

int hook_execvp(const char* file, char* const argv[]) noexcept {
    real_functions_ready();
    ExecHandover handover;
    const int status = g_real.execvpe(file, argv, prepare_exec(environ, handover));
    after_failed_exec(handover);
    return status;
}

int hook_execvpe(const char* file, char* const argv[], char* const envp[]) noexcept {
    real_functions_ready();
    ExecHandover handover;
    const int status = g_real.execvpe(file, argv, prepare_exec(envp, handover));
    after_failed_exec(handover);
    return status;
}

namespace {

// execl, execlp, execle: glibc turns their argument lists into execve/execvpe calls inside
// libc, out of the hooks' reach, so they are hooked here: the list is collected (on the
// stack, or mmap'd when long: no malloc, exec may run in a signal handler) and goes through
// the hooks above.
constexpr std::size_t kStackArguments = 256;

template <typename Exec>
int exec_with_list(const char* first, va_list list, Exec&& exec) noexcept {
    va_list counting;
    va_copy(counting, list);
    std::size_t count = 1;
    while (va_arg(counting, const char*)) ++count;
    va_end(counting);
    char* on_stack[kStackArguments];
    char** argv = on_stack;
    const std::size_t bytes = (count + 1) * sizeof(char*);
    if (count + 1 > kStackArguments) {
        ReentrancyGuard guard;
        void* memory = g_real.mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (memory == MAP_FAILED) {
            errno = E2BIG;
            return -1;
        }
        argv = static_cast<char**>(memory);
    }
    argv[0] = const_cast<char*>(first);
    for (std::size_t i = 1; i <= count; ++i) argv[i] = va_arg(list, char*); // ends with NULL
    const int status = exec(argv);
    if (argv != on_stack) {
        const int saved = errno;
        g_real.munmap(argv, bytes);
        errno = saved;
    }
    return status;
}

} // namespace

pid_t hook_fork() noexcept {
    real_functions_ready();
    const pid_t child = g_real.fork();
    if (child > 0) record_fork(child);
    return child;
}

namespace {

void* realloc_from_bootstrap(void* old, std::size_t size) noexcept {
    void* fresh = hook_malloc(size);
    if (fresh) {
        const std::size_t old_size = bootstrap_block_size(old);
        std::memcpy(fresh, old, old_size < size ? old_size : size);
    }
    return fresh;
}

} // namespace
} // namespace memopt::preload

extern "C" {

#define MEMOPT_FORWARD(ret, name, params, args)                                                \
    __attribute__((visibility("default"))) ret name params noexcept {                         \
        return memopt::preload::hook_##name args;                                              \
    }
MEMOPT_ALL_HOOKS(MEMOPT_FORWARD)
#undef MEMOPT_FORWARD

__attribute__((visibility("default"))) void* mremap(void* old_address, size_t old_length,
                                                    size_t new_length, int flags, ...) noexcept {
    using namespace memopt::preload;
    void* new_address = nullptr;
    if (flags & MREMAP_FIXED) {
        va_list rest;
        va_start(rest, flags);
        new_address = va_arg(rest, void*);
        va_end(rest);
    }
    if (!real_functions_ready()) return MAP_FAILED;
    if (!should_record()) return g_real.mremap(old_address, old_length, new_length, flags, new_address);
    ReentrancyGuard guard;
    // Releases the old range: its number comes before the call (tracer.h).
    const std::uint64_t release_seq = take_sequence();
    void* result = g_real.mremap(old_address, old_length, new_length, flags, new_address);
    if (result == MAP_FAILED) record_placeholder(release_seq);
    else record_mremap(old_address, old_length, result, new_length, release_seq);
    return result;
}

__attribute__((visibility("default"))) int execl(const char* path, const char* arg, ...) noexcept {
    using namespace memopt::preload;
    real_functions_ready();
    va_list list;
    va_start(list, arg);
    const int status = exec_with_list(arg, list, [&](char** argv) { return hook_execve(path, argv, environ); });
    va_end(list);
    return status;
}

__attribute__((visibility("default"))) int execlp(const char* file, const char* arg, ...) noexcept {
    using namespace memopt::preload;
    real_functions_ready();
    va_list list;
    va_start(list, arg);
    const int status = exec_with_list(arg, list, [&](char** argv) { return hook_execvpe(file, argv, environ); });
    va_end(list);
    return status;
}

// execle: the environment comes after the list's NULL.
__attribute__((visibility("default"))) int execle(const char* path, const char* arg, ...) noexcept {
    using namespace memopt::preload;
    real_functions_ready();
    va_list list;
    va_start(list, arg);
    va_list scan;
    va_copy(scan, list);
    while (va_arg(scan, const char*)) {
    }
    char* const* envp = va_arg(scan, char* const*);
    va_end(scan);
    const int status = exec_with_list(arg, list, [&](char** argv) { return hook_execve(path, argv, envp); });
    va_end(list);
    return status;
}

__attribute__((visibility("default"), noreturn)) void _exit(int status) {
    using namespace memopt::preload;
    real_functions_ready();
    before_exit_now();
    g_real.exit_now(status);
    __builtin_unreachable();
}

} // extern "C"
