#include "profiler/preload/thread_buffer.h"

#include "profiler/preload/reentrancy_guard.h"
#include "profiler/preload/sink.h"
#include "profiler/preload/tracer.h"
#include "profiler/trace/checksum.h"

#include <cerrno>
#include <csignal>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace memopt::preload {
namespace {

// Slots are never unmapped: a flusher may still be looking at a slot while its thread exits.
std::atomic<ThreadBuffer*> g_slots[kMaxThreads];
std::atomic<std::size_t> g_slot_count{0};

thread_local ThreadBuffer* t_buffer __attribute__((tls_model("initial-exec"))) = nullptr;
std::atomic<std::uint64_t> g_untraced_threads{0};
ThreadBuffer g_spare;

pthread_key_t g_exit_key;
pthread_once_t g_exit_key_once = PTHREAD_ONCE_INIT;

pid_t current_tid() noexcept { return static_cast<pid_t>(::syscall(SYS_gettid)); }

void on_thread_exit(void*) noexcept { release_current_thread_buffer(); }

void create_exit_key() noexcept { ::pthread_key_create(&g_exit_key, on_thread_exit); }

ThreadBuffer* map_new_buffer() noexcept {
    void* memory = ::mmap(nullptr, sizeof(ThreadBuffer), PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) return nullptr;
    return new (memory) ThreadBuffer();
}

std::size_t slot_limit() noexcept {
    const std::size_t configured = tracer_config().max_threads;
    return configured != 0 && configured < kMaxThreads ? configured : kMaxThreads;
}

bool thread_is_alive(pid_t tid) noexcept {
    return ::syscall(SYS_tgkill, ::getpid(), tid, 0) == 0 || errno != ESRCH;
}

// A registered slot no live thread holds: free, or left by a thread that ended without its
// exit handler running. The dead thread's pending records are flushed first.
ThreadBuffer* reuse_slot(std::size_t count, bool reclaim_dead) noexcept {
    for (std::size_t i = 0; i < count; ++i) {
        ThreadBuffer* buffer = g_slots[i].load(std::memory_order_acquire);
        if (!buffer) continue;
        bool expected = false;
        if (buffer->in_use.compare_exchange_strong(expected, true)) return buffer;
        if (!reclaim_dead || thread_is_alive(buffer->tid) || !buffer->try_lock()) continue;
        if (!thread_is_alive(buffer->tid)) {
            flush_locked(*buffer);
            buffer->tid = current_tid(); // alive again: no other claimer takes it too
            buffer->unlock();
            return buffer; // still in_use: now ours
        }
        buffer->unlock();
    }
    return nullptr;
}

ThreadBuffer* claim_slot() noexcept {
    const std::size_t limit = slot_limit();
    const std::size_t count = g_slot_count.load(std::memory_order_acquire);
    if (ThreadBuffer* buffer = reuse_slot(count, false)) return buffer;
    if (count < limit) {
        const std::size_t index = g_slot_count.fetch_add(1);
        if (index < limit) {
            ThreadBuffer* buffer = map_new_buffer();
            if (buffer) buffer->in_use.store(true);
            // A failed mapping leaves an empty slot: skipped by every scan.
            g_slots[index].store(buffer, std::memory_order_release);
            if (buffer) return buffer;
        } else {
            g_slot_count.fetch_sub(1);
        }
    }
    return reuse_slot(std::min(g_slot_count.load(std::memory_order_acquire), limit), true);
}

// The owner holds its lock only while encoding one record: spin a little before giving up,
// so a thread that allocates non-stop still gets flushed.
bool try_lock_briefly(ThreadBuffer& buffer) noexcept {
    for (int attempt = 0; attempt < 256; ++attempt) {
        if (buffer.try_lock()) return true;
        __builtin_ia32_pause();
    }
    return false;
}

} // namespace


bool ThreadBuffer::lock_within(std::uint64_t limit_ns) noexcept {
    const std::uint64_t start = monotonic_ns();
    for (unsigned spin = 1;; ++spin) {
        if (try_lock()) return true;
        if (spin % 1024 == 0) {
            if (monotonic_ns() - start >= limit_ns) return false;
            ::sched_yield();
        }
        __builtin_ia32_pause();
    }
}

std::uint64_t untraced_thread_count() noexcept { return g_untraced_threads.load(); }

ThreadBuffer* lock_spare_buffer(std::uint64_t wait_ns) noexcept {
    if (wait_ns ? !g_spare.lock_within(wait_ns) : !g_spare.try_lock()) return nullptr;
    g_spare.tid = current_tid();
    g_spare.used = 0;
    g_spare.first_seq = kNoSequence;
    g_spare.last_address = 0;
    return &g_spare;
}

void flush_spare_buffer(ThreadBuffer& spare) noexcept {
    flush_locked(spare);
    spare.unlock();
}

ThreadBuffer* current_thread_buffer() noexcept {
    if (t_buffer) return t_buffer;
    if (thread_untraced()) return nullptr;
    ThreadBuffer* buffer = claim_slot();
    if (!buffer) {
        // Untraced from now on: its hooks take no sequence numbers, so the other threads'
        // events still read in order; the trace says how many threads were left out.
        mark_thread_untraced();
        if (g_untraced_threads.fetch_add(1) == 0)
            record_tracer_error("more threads alive at once than the tracer has buffers for; "
                                "threads past that are not traced (their allocations are missing)");
        return nullptr;
    }
    buffer->lock();
    buffer->tid = current_tid();
    buffer->used = 0;
    buffer->first_seq = kNoSequence;
    buffer->last_address = 0;
    buffer->unlock();
    t_buffer = buffer;
    ::pthread_once(&g_exit_key_once, create_exit_key);
    ::pthread_setspecific(g_exit_key, buffer);
    note_thread_start(*buffer);
    return buffer;
}

bool flush_locked(ThreadBuffer& buffer) noexcept {
    if (buffer.used == 0) return true;
    using namespace trace;
    // The chunk header goes right-aligned into the space reserved before the payload: first
    // tid and first_seq (the start of the checksummed body), then the checksum, the length
    // and the tag in front of them.
    const std::uint64_t first_seq = buffer.first_seq == kNoSequence ? 0 : buffer.first_seq;
    std::uint8_t ids[2 * kMaxVarintSize];
    std::uint8_t* ids_end = put_varint(ids, static_cast<std::uint64_t>(buffer.tid));
    ids_end = put_varint(ids_end, first_seq);
    const std::size_t ids_size = static_cast<std::size_t>(ids_end - ids);
    std::uint8_t* body = buffer.payload() - ids_size;
    for (std::size_t i = 0; i < ids_size; ++i) body[i] = ids[i];
    const std::size_t body_size = ids_size + buffer.used;
    const std::uint64_t length = kChecksumSize + body_size;
    std::uint8_t head[1 + kMaxVarintSize + kChecksumSize];
    std::uint8_t* head_end = head;
    *head_end++ = kChunkTag;
    head_end = put_varint(head_end, length);
    head_end = put_checksum(head_end, chunk_checksum(length, body, body_size));
    const std::size_t head_size = static_cast<std::size_t>(head_end - head);
    std::uint8_t* start = body - head_size;
    for (std::size_t i = 0; i < head_size; ++i) start[i] = head[i];
    const bool ok = sink_write_signal_safe(start, head_size + body_size);
    buffer.used = 0;
    buffer.first_seq = kNoSequence;
    buffer.last_address = 0;
    if (!ok) tracer_stop(sink_failure());
    return ok;
}

bool ensure_room(ThreadBuffer& buffer, std::size_t bytes) noexcept {
    if (buffer.room() >= bytes) return true;
    return flush_locked(buffer) && buffer.room() >= bytes;
}

void begin_sequenced_record(ThreadBuffer& buffer, std::uint64_t seq) noexcept {
    using namespace trace;
    if (buffer.first_seq != kNoSequence && seq - buffer.first_seq > kMaxChunkSpan) flush_locked(buffer);
    if (buffer.first_seq == kNoSequence) {
        buffer.first_seq = seq;
    } else if (seq != buffer.last_seq + 1) {
        std::uint8_t* out = put_extended_head(buffer.cursor(), ExtendedType::kSeqSkip);
        out = put_varint(out, seq - buffer.last_seq - 1);
        buffer.used = static_cast<std::size_t>(out - buffer.payload());
    }
    buffer.last_seq = seq;
}

namespace {

// Exit and exec: a buffer stays busy only when its owner is stuck with the lock held (or
// this thread's signal handler interrupted its own tracer code): wait a little, then leave
// it, and say so.
constexpr std::uint64_t kFinalWaitNs = 200'000'000;
constexpr std::uint64_t kInterruptedWaitNs = 1'000'000;

bool lock_for_flush(ThreadBuffer& buffer, bool wait, bool interrupted) noexcept {
    if (!wait) return try_lock_briefly(buffer);
    if (buffer.lock_within(interrupted && &buffer == t_buffer ? kInterruptedWaitNs : kFinalWaitNs)) return true;
    record_tracer_error(&buffer == t_buffer
                            ? "the process ended in a signal handler that interrupted the tracer; "
                              "the last records of that thread (at most 64 KiB) are lost"
                            : "a thread's buffer stayed busy when the process ended or exec'd; "
                              "its last records (at most 64 KiB) are lost");
    return false;
}

} // namespace

void flush_all_buffers(bool wait, bool interrupted) noexcept {
    const std::size_t count = g_slot_count.load(std::memory_order_acquire);
    for (std::size_t i = 0; i < count; ++i) {
        ThreadBuffer* buffer = g_slots[i].load(std::memory_order_acquire);
        if (!buffer || !buffer->in_use.load(std::memory_order_acquire)) continue;
        if (!lock_for_flush(*buffer, wait, interrupted)) continue; // periodic: next round
        flush_locked(*buffer);
        const bool dead = !wait && buffer != t_buffer && !thread_is_alive(buffer->tid);
        if (dead) buffer->in_use.store(false, std::memory_order_release);
        buffer->unlock();
    }
}

void release_current_thread_buffer() noexcept {
    ThreadBuffer* buffer = t_buffer;
    if (!buffer) return;
    t_buffer = nullptr;
    buffer->lock();
    flush_locked(*buffer);
    buffer->in_use.store(false, std::memory_order_release);
    buffer->unlock();
}

void reset_buffers_after_fork() noexcept {
    const std::size_t count = g_slot_count.load(std::memory_order_acquire);
    for (std::size_t i = 0; i < count; ++i) {
        ThreadBuffer* buffer = g_slots[i].load(std::memory_order_acquire);
        if (!buffer) continue;
        buffer->used = 0;
        buffer->first_seq = kNoSequence;
        buffer->last_address = 0;
        buffer->in_use.store(buffer == t_buffer, std::memory_order_relaxed);
        buffer->locked.store(false, std::memory_order_relaxed);
    }
    if (t_buffer) t_buffer->tid = current_tid();
    g_spare.locked.store(false, std::memory_order_relaxed);
}

} // namespace memopt::preload
