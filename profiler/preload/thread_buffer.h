#pragma once
// Per-thread trace buffers. Each thread appends encoded records to its own buffer; a full
// buffer goes out as one chunk (profiler/trace/format.h) in one write(2).
//
// Locking is asymmetric, because the owner enters its buffer on every event and everyone
// else (the sampler's periodic flush, exit, exec, reclaiming a dead thread's slot) rarely:
// - the owner marks itself `busy` with a plain store and checks `outsider` (kLocked), with only a
//   compiler barrier between the two (owner_enter): no atomic read-modify-write, no fence;
// - an outsider takes kLocked (a spinlock among outsiders), then makes every thread of the
//   process execute a full memory barrier (membarrier(2), MEMBARRIER_CMD_PRIVATE_EXPEDITED),
//   then waits for `busy` to clear (lock_from_outside). After the barrier either the owner
//   sees kLocked and steps back, or the outsider sees `busy` and waits: the two never hold
//   the buffer at once (the store-load pairing of Dekker's algorithm, with the owner's fence
//   paid by the outsider; liburcu and folly's hazard pointers use the same trick).
// Where membarrier is not available the owner pays a full fence instead (same result).
// Outsiders hold a buffer only when its owner is idle: the periodic flush first asks
// (`flush_wanted`), and an owner that comes by writes its chunk itself; only a buffer whose
// owner did not come by since the previous round is taken from outside. So a busy thread
// never waits for an outsider that a loaded machine descheduled while holding its buffer.
//
// Sequence numbers (tracer.h) come in blocks: the owner takes its numbers from a block of
// the process-wide counter it reserved, without touching the counter again while no other
// thread reserved a block since (one relaxed load to check); see next_number in tracer.cpp.
#include "profiler/preload/reentrancy_guard.h"
#include "profiler/trace/encoding.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <sys/types.h>

namespace memopt::preload {

// Payload bytes of one chunk. 128 KiB, zstd's largest block (ZSTD_BLOCKSIZE_MAX): one block
// per chunk, and zstd's fixed cost per block (its entropy tables) spread over twice the
// records of a 64 KiB buffer, which made compression 36 % cheaper per byte on churn's
// records (13-16 % on the ML workloads') and the compressed churn trace half as big
// (docs/benchmarks.md, "Hot path").
inline constexpr std::size_t kBufferCapacity = 128 * 1024;
// Slots for threads alive at once (tracer_config().max_threads may lower it; tests do).
// Slots of threads that ended are reused; past the limit a new thread is not traced and
// the trace says so (a TracerError record, and a count at exit).
inline constexpr std::size_t kMaxThreads = 32768;
inline constexpr std::uint64_t kNoSequence = ~0ull;
// A chunk is sent once its first record is this many process-wide events old, even if not
// full: the reader holds every event newer than the oldest one not yet in the file, so a
// busy thread's half-full buffer must not lag far behind the others.
inline constexpr std::uint64_t kMaxChunkSpan = 1u << 16;

// Raw events (record_fast.h): the common event is stored as it comes, two words, and
// encoded into the chunk's records (varint head and size, exactly as the full path writes
// them) when the buffer is next held by anyone (encode_raw_events): the per-event work on
// the hot path is two stores. Only kinds whose record is a head and an optional size come
// this way: 16-aligned addresses, kind in the low bits; kFree has no size.
struct RawEvent {
    std::uint64_t word; // address | kind
    std::uint64_t size;
};
inline constexpr std::size_t kRawEvents = 1024;
inline constexpr std::size_t kMaxRawEncoded = 2 * trace::kMaxVarintSize; // head and size

struct ThreadBuffer {
    // kLocked: held by an outsider (or by anyone, for the spare); kFlushWanted: the periodic
    // flush asks the owner to write. One byte, so the owner's check is one load.
    std::atomic<std::uint8_t> outsider{0};
    std::atomic<bool> busy{false};   // the owner is inside (written by the owner only)
    std::atomic<bool> in_use{false};
    pid_t tid = 0;
    // The raw window: the owner's fast path appends at raw_next while below raw_end. Open
    // (raw_end past raw) only while the numbers raw events take are the chunk's next ones:
    // raw event i numbered next_number + i, all below block_end, encoded within the room.
    // Whoever holds the buffer first encodes the pending raw events and closes the window;
    // the owner reopens it when it lets the buffer go (owner_exit).
    RawEvent* raw_next = raw;
    RawEvent* raw_end = raw;
    // The owner's block of sequence numbers: [next_number, block_end) still unused.
    std::uint64_t next_number = 0;
    std::uint64_t block_end = 0;
    std::uint64_t first_seq = kNoSequence; // first sequenced record of the pending chunk
    std::uint64_t last_seq = 0;
    std::uint64_t last_address = 0; // in units of 16 bytes, delta base within the chunk
    std::size_t used = 0;           // payload bytes pending
    std::uint64_t block_size = 0;
    // An outsider copied the pending chunk out and is writing it (without holding the
    // buffer, so the owner goes on): the owner's next chunk waits for it, to stay behind it
    // in the file.
    std::atomic<bool> in_transit{false};
    RawEvent raw[kRawEvents + 1]; // + the encoder's sentinel (encode_raw_events)
    std::uint8_t bytes[trace::kMaxChunkHeaderSize + kBufferCapacity];

    std::uint8_t* payload() noexcept { return bytes + trace::kMaxChunkHeaderSize; }
    std::uint8_t* cursor() noexcept { return payload() + used; }
    std::size_t room() const noexcept { return kBufferCapacity - used; }

    // The owner's entry and exit (see the top of this file). owner_enter waits while an
    // outsider holds the buffer; owner_try_enter gives up at once when the buffer is busy
    // with this very thread (a signal handler interrupted it) and waits at most `limit_ns`
    // for an outsider.
    // owner_exit reopens the raw window. The fast path's pair (owner_fast_enter: false,
    // and the buffer not entered, when an outsider holds it or asks for a flush) leaves the
    // window as it is.
    inline void owner_enter() noexcept;
    bool owner_try_enter(std::uint64_t limit_ns) noexcept;
    void owner_exit() noexcept {
        open_raw_window();
        busy.store(false, std::memory_order_release);
    }
    inline bool owner_fast_enter() noexcept;
    inline bool owner_fence_free_enter() noexcept;
    void owner_fast_exit() noexcept { busy.store(false, std::memory_order_release); }

    // Holder of the buffer: encodes the pending raw events and closes the window.
    void take_raw_events() noexcept {
        if (raw_next != raw || raw_end != raw) encode_raw_events();
    }
    void encode_raw_events() noexcept;
    void open_raw_window() noexcept;

    // Outsiders: bounded waits, since a holder may be stuck (or be this thread, interrupted).
    bool lock_from_outside(std::uint64_t limit_ns) noexcept;
    void unlock_from_outside() noexcept { unlock(); }

    // The spare buffer has no owner: a plain spinlock.
    bool try_lock() noexcept { return !(outsider.fetch_or(kLocked, std::memory_order_acquire) & kLocked); }
    bool lock_within(std::uint64_t limit_ns) noexcept;
    void unlock() noexcept { outsider.fetch_and(static_cast<std::uint8_t>(~kLocked), std::memory_order_release); }
    bool is_locked() const noexcept { return (outsider.load(std::memory_order_acquire) & kLocked) != 0; }

    static constexpr std::uint8_t kLocked = 1;
    static constexpr std::uint8_t kFlushWanted = 2;
    bool flush_wanted() const noexcept { return (outsider.load(std::memory_order_relaxed) & kFlushWanted) != 0; }
    void want_flush(bool wanted) noexcept {
        if (wanted) outsider.fetch_or(kFlushWanted, std::memory_order_relaxed);
        else outsider.fetch_and(static_cast<std::uint8_t>(~kFlushWanted), std::memory_order_relaxed);
    }

  private:
    void owner_slow_enter() noexcept;
};

// True once membarrier(2) is registered for this process: owners then need no fence.
extern std::atomic<bool> g_owner_fence_free;

inline bool ThreadBuffer::owner_fast_enter() noexcept {
    busy.store(true, std::memory_order_relaxed);
    if (__builtin_expect(g_owner_fence_free.load(std::memory_order_relaxed), true)) std::atomic_signal_fence(std::memory_order_seq_cst);
    else std::atomic_thread_fence(std::memory_order_seq_cst);
    if (__builtin_expect(outsider.load(std::memory_order_acquire) != 0, false)) {
        busy.store(false, std::memory_order_release);
        return false;
    }
    return true;
}

// owner_fast_enter when membarrier is known to be registered (the fast gate is open).
inline bool ThreadBuffer::owner_fence_free_enter() noexcept {
    busy.store(true, std::memory_order_relaxed);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    if (__builtin_expect(outsider.load(std::memory_order_acquire) != 0, false)) {
        busy.store(false, std::memory_order_release);
        return false;
    }
    return true;
}

inline void ThreadBuffer::owner_enter() noexcept {
    busy.store(true, std::memory_order_relaxed);
    if (g_owner_fence_free.load(std::memory_order_relaxed)) std::atomic_signal_fence(std::memory_order_seq_cst);
    else std::atomic_thread_fence(std::memory_order_seq_cst);
    if (__builtin_expect(outsider.load(std::memory_order_acquire) != 0, false))
        owner_slow_enter();
    take_raw_events();
}

// What t_thread.buffer points to while a thread has no buffer (before its first event,
// untraced, after its exit handler): nobody's, with its raw window always shut, so the
// inline path (record_fast.h) needs no test for a missing buffer: it fails the window
// test and the full path registers the thread.
extern ThreadBuffer g_no_buffer;

// The calling thread's buffer, registering the thread on first use. nullptr when no slot
// could be had: the thread is then not traced (mark_thread_untraced) and the trace says so.
ThreadBuffer* register_current_thread() noexcept;
inline ThreadBuffer* current_thread_buffer() noexcept {
    if (ThreadBuffer* buffer = t_thread.buffer; buffer != &g_no_buffer) return buffer;
    return register_current_thread();
}
// Threads that went untraced because every slot was taken.
std::uint64_t untraced_thread_count() noexcept;

// A spare buffer for records that must get out when the thread's own buffer is busy (a
// signal handler interrupted the tracer) or missing (untraced thread): tracer errors and
// the final kProcessExit. Try-locked (or waited for up to `wait_ns`); nullptr when another
// thread is using it. Unlock with
// flush_spare_buffer, which writes it at once.
ThreadBuffer* lock_spare_buffer(std::uint64_t wait_ns = 0) noexcept; // 0: try once
void flush_spare_buffer(ThreadBuffer& spare) noexcept;

// Writes the pending chunk of a buffer the caller holds. Returns false (and turns the
// tracer off) when the sink fails.
bool flush_locked(ThreadBuffer& buffer) noexcept;

// Makes room for `bytes` more payload bytes, flushing first when needed (buffer held).
bool flush_for_room(ThreadBuffer& buffer, std::size_t bytes) noexcept;
inline bool ensure_room(ThreadBuffer& buffer, std::size_t bytes) noexcept {
    return __builtin_expect(buffer.room() >= bytes, true) || flush_for_room(buffer, bytes);
}

// Starts a sequenced record: flushes first when the chunk spans too much of the process's
// history, then writes a kSeqSkip when `seq` does not follow the previous one.
void begin_sequenced_record_slow(ThreadBuffer& buffer, std::uint64_t seq) noexcept;
inline void begin_sequenced_record(ThreadBuffer& buffer, std::uint64_t seq) noexcept {
    if (__builtin_expect(buffer.first_seq != kNoSequence && seq == buffer.last_seq + 1 &&
                             seq - buffer.first_seq <= kMaxChunkSpan, true)) {
        buffer.last_seq = seq;
        return;
    }
    begin_sequenced_record_slow(buffer, seq);
}

// Declares the unused rest of the owner's number block void (a kSeqVoid record naming the
// range), so the reader does not wait for numbers nobody will use. Any holder of the buffer
// may: the record is unsequenced, so it may come before the record of a number the owner
// took earlier and writes later (realloc, mremap).
void give_back_numbers(ThreadBuffer& buffer) noexcept;

// Every buffer forgets its number block (the counter restarted: tests, a forked child).
void forget_number_blocks() noexcept;

// Flushes every registered buffer. With `wait` (exit, exec), waits a bounded time for each
// busy buffer and records a TracerError for any it had to leave; `interrupted` (the caller
// runs in a signal handler that interrupted the tracer on this thread) gives up on the
// thread's own buffer at once, since the interrupted code may hold it. Without
// `wait` (periodic flush), skips busy buffers and reclaims buffers of threads that died
// without saying goodbye.
void flush_all_buffers(bool wait, bool interrupted = false) noexcept;

// Called from the thread's own exit path: flush and give the slot back.
void release_current_thread_buffer() noexcept;

// In a forked child: drop every buffer's pending bytes (they are the parent's to write) and
// all ownership, locks included, since the other threads do not exist in the child.
void reset_buffers_after_fork() noexcept;

} // namespace memopt::preload
