#pragma once
// Per-thread trace buffers. Each thread appends encoded records to its own buffer under a
// per-buffer spinlock that only the owner and the flusher (sampler thread, exit, fork, exec)
// ever take, so the allocation path has no global lock. A full buffer goes out as one chunk
// (profiler/trace/format.h) in one write(2).
#include "profiler/trace/encoding.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <sys/types.h>

namespace memopt::preload {

inline constexpr std::size_t kBufferCapacity = 64 * 1024;
// Slots for threads alive at once (tracer_config().max_threads may lower it; tests do).
// Slots of threads that ended are reused; past the limit a new thread is not traced and
// the trace says so (a TracerError record, and a count at exit).
inline constexpr std::size_t kMaxThreads = 32768;
inline constexpr std::uint64_t kNoSequence = ~0ull;
// A chunk is sent once its first record is this many process-wide events old, even if not
// full: the reader holds every event newer than the oldest one not yet in the file, so a
// busy thread's half-full buffer must not lag far behind the others.
inline constexpr std::uint64_t kMaxChunkSpan = 1u << 16;

struct ThreadBuffer {
    std::atomic<bool> locked{false};
    std::atomic<bool> in_use{false};
    pid_t tid = 0;
    std::uint64_t first_seq = kNoSequence; // first sequenced record of the pending chunk
    std::uint64_t last_seq = 0;
    std::uint64_t last_address = 0; // in units of 16 bytes, delta base within the chunk
    std::size_t used = 0;           // payload bytes pending
    std::uint8_t bytes[trace::kMaxChunkHeaderSize + kBufferCapacity];

    std::uint8_t* payload() noexcept { return bytes + trace::kMaxChunkHeaderSize; }
    std::uint8_t* cursor() noexcept { return payload() + used; }
    std::size_t room() const noexcept { return kBufferCapacity - used; }

    void lock() noexcept {
        while (locked.exchange(true, std::memory_order_acquire)) {
            while (locked.load(std::memory_order_relaxed)) __builtin_ia32_pause();
        }
    }
    bool try_lock() noexcept { return !locked.exchange(true, std::memory_order_acquire); }
    // Spins at most `limit_ns`: paths that may run in a signal handler (exit, exec) must not
    // wait for a lock the interrupted code of their own thread holds.
    bool lock_within(std::uint64_t limit_ns) noexcept;
    void unlock() noexcept { locked.store(false, std::memory_order_release); }
};

// The calling thread's buffer, registering the thread on first use. nullptr when no slot
// could be had: the thread is then not traced (mark_thread_untraced) and the trace says so.
ThreadBuffer* current_thread_buffer() noexcept;
// Threads that went untraced because every slot was taken.
std::uint64_t untraced_thread_count() noexcept;

// A spare buffer for records that must get out when the thread's own buffer is busy (a
// signal handler interrupted the tracer) or missing (untraced thread): tracer errors and
// the final kProcessExit. Try-locked (or waited for up to `wait_ns`); nullptr when another
// thread is using it. Unlock with
// flush_spare_buffer, which writes it at once.
ThreadBuffer* lock_spare_buffer(std::uint64_t wait_ns = 0) noexcept; // 0: try once
void flush_spare_buffer(ThreadBuffer& spare) noexcept;

// Writes the pending chunk of a buffer whose lock the caller holds. Returns false (and turns
// the tracer off) when the sink fails.
bool flush_locked(ThreadBuffer& buffer) noexcept;

// Makes room for `bytes` more payload bytes, flushing first when needed (lock held).
bool ensure_room(ThreadBuffer& buffer, std::size_t bytes) noexcept;

// Starts a sequenced record: flushes first when the chunk spans too much of the process's
// history, then writes a kSeqSkip when `seq` does not follow the previous one.
void begin_sequenced_record(ThreadBuffer& buffer, std::uint64_t seq) noexcept;

// Flushes every registered buffer. With `wait` (exit, exec), waits a bounded time for each
// busy buffer and records a TracerError for any it had to leave; `interrupted` (the caller
// runs in a signal handler that interrupted the tracer on this thread) gives up on the
// thread's own buffer at once, since the interrupted code may hold its lock. Without
// `wait` (periodic flush), skips busy buffers and reclaims buffers of threads that died
// without saying goodbye.
void flush_all_buffers(bool wait, bool interrupted = false) noexcept;

// Called from the thread's own exit path: flush and give the slot back.
void release_current_thread_buffer() noexcept;

// In a forked child: drop every buffer's pending bytes (they are the parent's to write) and
// all ownership, locks included, since the other threads do not exist in the child.
void reset_buffers_after_fork() noexcept;

} // namespace memopt::preload
