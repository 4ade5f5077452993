#include "profiler/preload/thread_buffer.h"

#include "profiler/preload/fast_gate.h"
#include "profiler/preload/reentrancy_guard.h"
#include "profiler/preload/sink.h"
#include "profiler/preload/tracer.h"
#include "profiler/trace/checksum.h"

#include <algorithm>
#include <cerrno>
#include <linux/membarrier.h>
#include <csignal>
#include <cstring>
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

std::atomic<std::uint64_t> g_untraced_threads{0};
ThreadBuffer g_spare;

pthread_key_t g_exit_key;
pthread_once_t g_exit_key_once = PTHREAD_ONCE_INIT;

// Outsiders' side of the asymmetric lock: a full barrier on every thread of the process, or
// (no membarrier) a fence here, the owners fencing themselves.
bool barrier_on_all_threads() noexcept {
    if (!g_owner_fence_free.load(std::memory_order_acquire)) {
        std::atomic_thread_fence(std::memory_order_seq_cst);
        return true;
    }
    if (::syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0) return true;
    // Registered but refused (should not happen): owners fence from now on; this round's
    // owners may not have, so this outsider gives up for now.
    fast_gate_set(kGateOwnerFences, true);
    g_owner_fence_free.store(false);
    return false;
}

// Registers this process for membarrier: once, at the first thread registration, and again
// in a forked child (which may not inherit the registration).
void enable_fence_free_owners() noexcept {
    const bool ok = ::syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
    if (!ok) fast_gate_set(kGateOwnerFences, true);
    g_owner_fence_free.store(ok, std::memory_order_release);
    if (ok) fast_gate_set(kGateOwnerFences, false);
}
std::atomic<bool> g_fences_prepared{false};

constexpr std::uint64_t kSpinCheckEvery = 1024; // pauses between clock reads while waiting
constexpr std::uint64_t kTransitWaitNs = 200'000'000;

// Spins until `done()` or `limit_ns` passed (yielding now and then).
template <typename Done>
bool wait_until(Done&& done, std::uint64_t limit_ns) noexcept {
    std::uint64_t start = 0;
    for (std::uint64_t spin = 1;; ++spin) {
        if (done()) return true;
        if (spin % kSpinCheckEvery == 0) {
            if (start == 0) start = monotonic_ns();
            else if (monotonic_ns() - start >= limit_ns) return false;
            ::sched_yield();
        }
        __builtin_ia32_pause();
    }
}

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
        if (!reclaim_dead || thread_is_alive(buffer->tid) || !buffer->lock_from_outside(0)) continue;
        if (!thread_is_alive(buffer->tid)) {
            give_back_numbers(*buffer);
            flush_locked(*buffer);
            buffer->tid = current_tid(); // alive again: no other claimer takes it too
            buffer->unlock_from_outside();
            return buffer; // still in_use: now ours
        }
        buffer->unlock_from_outside();
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

} // namespace


std::atomic<bool> g_owner_fence_free{false};
ThreadBuffer g_no_buffer;

bool ThreadBuffer::lock_within(std::uint64_t limit_ns) noexcept {
    return wait_until([&] { return try_lock(); }, limit_ns);
}

void ThreadBuffer::owner_slow_enter() noexcept {
    while (is_locked()) {
        busy.store(false, std::memory_order_release); // the outsider waits for this
        while (is_locked()) __builtin_ia32_pause();
        busy.store(true, std::memory_order_relaxed);
        if (g_owner_fence_free.load(std::memory_order_relaxed)) std::atomic_signal_fence(std::memory_order_seq_cst);
        else std::atomic_thread_fence(std::memory_order_seq_cst);
    }
    take_raw_events();
    if (flush_wanted()) {
        want_flush(false);
        flush_locked(*this);
    }
}

namespace {

// put_varint with the one- and two-byte cases (most heads and sizes) written out.
inline std::uint8_t* put_short_varint(std::uint8_t* out, std::uint64_t value) noexcept {
    if (value < 0x80) {
        *out = static_cast<std::uint8_t>(value);
        return out + 1;
    }
    if (value < 0x4000) {
        out[0] = static_cast<std::uint8_t>(value | 0x80);
        out[1] = static_cast<std::uint8_t>(value >> 7);
        return out + 2;
    }
    return trace::put_varint(out, value);
}

} // namespace

// The records the full path would have written for them (append_event_locked in
// tracer.cpp): a head with the address delta, the size unless kFree. Numbered on from
// last_seq, which the window guaranteed were the owner's next numbers.
//
// The head is computed on whole addresses: with `word` = address | kind and `last` the
// previous address, delta = word - last is 16 * (unit delta) + kind, and
// record_head(kind, zigzag(unit delta)) = (16 * unit delta ^ sign << 3) | kind
// = delta ^ (sign << 3), the sign being delta's (kind < 8, and the addresses are user
// space, far below 2^60, so nothing overflows). Same bytes, fewer steps. Below 0x80 (the
// block the previous event named, or one up to 7 units above it: the common case, glibc
// handing back the block just freed) delta is the one-byte head itself, a free of the
// previous block (delta 1) included.
//
// An acquisition followed by the free of the same block (a short-lived block) is taken as
// one step: the free's record is the single byte kFree. The window's end holds a sentinel
// word (0, never a free's: the acquired address is not 0), so the look ahead needs no
// bounds test.
void ThreadBuffer::encode_raw_events() noexcept {
    using namespace trace;
    RawEvent* const end = raw_next;
    raw_next = raw_end = raw;
    if (end == raw) return;
    constexpr std::uint64_t kKindBits = (1u << kAddressShift) - 1;
    constexpr auto kFreeKind = static_cast<std::uint64_t>(RecordKind::kFree);
    end->word = 0;
    std::uint8_t* out = cursor();
    std::uint64_t last = last_address << kAddressShift;
    for (const RawEvent* event = raw; event != end; ++event) {
        const std::uint64_t word = event->word;
        const std::uint64_t delta = word - last;
        if (__builtin_expect(delta < 0x80, true)) {
            *out++ = static_cast<std::uint8_t>(delta);
        } else {
            const auto sign = static_cast<std::uint64_t>(static_cast<std::int64_t>(delta) >> 63);
            out = put_short_varint(out, delta ^ (sign << 3));
        }
        last = word & ~kKindBits;
        if ((word & kKindBits) == kFreeKind) continue;
        out = put_short_varint(out, event->size);
        if (event[1].word == last + kFreeKind) {
            *out++ = static_cast<std::uint8_t>(kFreeKind);
            ++event;
        }
    }
    last_address = last >> kAddressShift;
    last_seq += static_cast<std::uint64_t>(end - raw);
    next_number = last_seq + 1;
    used = static_cast<std::size_t>(out - payload());
}

void ThreadBuffer::open_raw_window() noexcept {
    if (raw_next != raw) encode_raw_events(); // none: the holder took them on entering
    raw_end = raw;
    if (first_seq == kNoSequence || next_number != last_seq + 1 || next_number >= block_end) return;
    const std::uint64_t numbers = block_end - next_number;
    const std::size_t fit = room() / kMaxRawEncoded;
    raw_end = raw + std::min<std::uint64_t>({numbers, fit, kRawEvents});
}

bool ThreadBuffer::owner_try_enter(std::uint64_t limit_ns) noexcept {
    if (busy.load(std::memory_order_relaxed)) return false; // this thread, interrupted inside
    for (;;) {
        busy.store(true, std::memory_order_relaxed);
        if (g_owner_fence_free.load(std::memory_order_relaxed)) std::atomic_signal_fence(std::memory_order_seq_cst);
        else std::atomic_thread_fence(std::memory_order_seq_cst);
        if (!is_locked()) {
            take_raw_events();
            return true;
        }
        busy.store(false, std::memory_order_release);
        if (!wait_until([&] { return !is_locked(); }, limit_ns)) return false;
    }
}

bool ThreadBuffer::lock_from_outside(std::uint64_t limit_ns) noexcept {
    if (!lock_within(limit_ns)) return false;
    if (barrier_on_all_threads() &&
        wait_until([&] { return !busy.load(std::memory_order_acquire); }, limit_ns)) {
        take_raw_events();
        return true;
    }
    unlock_from_outside();
    return false;
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

ThreadBuffer* register_current_thread() noexcept {
    if (thread_untraced()) return nullptr;
    if (!g_fences_prepared.exchange(true)) enable_fence_free_owners();
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
    // Ours now (in_use), but an outsider may be flushing what the previous owner left.
    buffer->owner_enter();
    buffer->tid = current_tid();
    buffer->used = 0;
    buffer->first_seq = kNoSequence;
    buffer->last_address = 0;
    buffer->next_number = buffer->block_end = buffer->block_size = 0;
    buffer->owner_exit();
    t_thread.buffer = buffer;
    ::pthread_once(&g_exit_key_once, create_exit_key);
    ::pthread_setspecific(g_exit_key, buffer);
    note_thread_start(*buffer);
    return buffer;
}

bool flush_locked(ThreadBuffer& buffer) noexcept {
    if (buffer.used == 0) return true;
    using namespace trace;
    // Bounded: the writer may be this thread, interrupted by a signal handler.
    if (buffer.in_transit.load(std::memory_order_acquire))
        wait_until([&] { return !buffer.in_transit.load(std::memory_order_acquire); }, kTransitWaitNs);
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
    std::uint8_t* start = prepend_unsealed_chunk_head(kChunkTag, body, body_size); // sealed if sent plain
    const bool ok = sink_write_signal_safe(start, body, body_size);
    buffer.used = 0;
    buffer.first_seq = kNoSequence;
    buffer.last_address = 0;
    if (!ok) tracer_stop(sink_failure());
    return ok;
}

bool flush_for_room(ThreadBuffer& buffer, std::size_t bytes) noexcept {
    return flush_locked(buffer) && buffer.room() >= bytes;
}

void begin_sequenced_record_slow(ThreadBuffer& buffer, std::uint64_t seq) noexcept {
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

void give_back_numbers(ThreadBuffer& buffer) noexcept {
    using namespace trace;
    if (buffer.next_number >= buffer.block_end) return;
    const std::uint64_t from = buffer.next_number;
    const std::uint64_t count = buffer.block_end - from;
    buffer.next_number = buffer.block_end;
    if (!ensure_room(buffer, 3 * kMaxVarintSize)) return;
    std::uint8_t* out = put_extended_head(buffer.cursor(), ExtendedType::kSeqVoid);
    out = put_varint(out, from);
    out = put_varint(out, count);
    buffer.used = static_cast<std::size_t>(out - buffer.payload());
}

void forget_number_blocks() noexcept {
    const std::size_t count = g_slot_count.load(std::memory_order_acquire);
    for (std::size_t i = 0; i < count; ++i) {
        ThreadBuffer* buffer = g_slots[i].load(std::memory_order_acquire);
        if (!buffer) continue;
        buffer->next_number = buffer->block_end = buffer->block_size = 0;
        buffer->raw_end = buffer->raw_next; // its numbers were of the old count
    }
}

namespace {

// Exit and exec: a buffer stays busy only when its owner is stuck inside (or this thread's
// signal handler interrupted its own tracer code): wait a little, then leave it, and say so.
constexpr std::uint64_t kFinalWaitNs = 200'000'000;
constexpr std::uint64_t kInterruptedWaitNs = 1'000'000;
// Periodic flush: an owner stays inside for one record; a buffer still busy after this is
// left for the next round.
constexpr std::uint64_t kPeriodicWaitNs = 20'000;
constexpr std::size_t kBatch = 64; // buffers locked per membarrier(2) in a periodic flush

// The records a holder writes before letting a buffer go for good or for a while: the
// unused numbers given back, the pending chunk written.
void hand_over(ThreadBuffer& buffer) noexcept {
    give_back_numbers(buffer);
    flush_locked(buffer);
}

void say_buffer_left(bool own) noexcept {
    record_tracer_error(own ? "the process ended in a signal handler that interrupted the tracer; "
                              "the last records of that thread (at most 128 KiB) are lost"
                            : "a thread's buffer stayed busy when the process ended or exec'd; "
                              "its last records (at most 128 KiB) are lost");
}

// This thread's own buffer, at exit, exec or in a periodic flush by the sampler thread
// (which has a buffer too once it allocates).
void flush_own(ThreadBuffer& own, bool wait, bool interrupted) noexcept {
    const std::uint64_t limit = !wait ? kPeriodicWaitNs : interrupted ? kInterruptedWaitNs : kFinalWaitNs;
    if (!own.owner_try_enter(limit)) {
        if (wait) say_buffer_left(true);
        return;
    }
    hand_over(own);
    own.owner_exit();
}

// Where an outsider copies a chunk to write it after letting the buffer go: the owner
// then waits for the copy only (microseconds), never for the write(2), which on a loaded
// machine can take a whole time slice of the writer.
ThreadBuffer g_transit;

// An outsider's hand_over, the buffer held (and unlocked here).
void hand_over_from_outside(ThreadBuffer& buffer) noexcept {
    give_back_numbers(buffer);
    if (buffer.used == 0 || buffer.in_transit.load(std::memory_order_acquire) || !g_transit.try_lock()) {
        flush_locked(buffer); // nothing to write, or the copy is in use: write as the holder
        buffer.unlock_from_outside();
        return;
    }
    g_transit.tid = buffer.tid;
    g_transit.first_seq = buffer.first_seq;
    g_transit.used = buffer.used;
    std::memcpy(g_transit.payload(), buffer.payload(), buffer.used);
    buffer.used = 0;
    buffer.first_seq = kNoSequence;
    buffer.last_address = 0;
    buffer.in_transit.store(true, std::memory_order_relaxed);
    buffer.unlock_from_outside();
    flush_locked(g_transit);
    buffer.in_transit.store(false, std::memory_order_release);
    g_transit.unlock();
}

// Periodic: the buffers of `held` (locked by this outsider) after one barrier for all.
void flush_batch(ThreadBuffer** held, std::size_t count) noexcept {
    const bool barrier = barrier_on_all_threads();
    for (std::size_t i = 0; i < count; ++i) {
        ThreadBuffer& buffer = *held[i];
        if (!barrier || !wait_until([&] { return !buffer.busy.load(std::memory_order_acquire); }, kPeriodicWaitNs)) {
            buffer.unlock_from_outside();
            continue;
        }
        buffer.take_raw_events();
        // A thread that died without its exit handler running: its slot is free again.
        const bool dead = !thread_is_alive(buffer.tid);
        buffer.want_flush(false);
        hand_over_from_outside(buffer);
        if (dead) buffer.in_use.store(false, std::memory_order_release);
    }
}

} // namespace

void flush_all_buffers(bool wait, bool interrupted) noexcept {
    ThreadBuffer* const own = t_thread.buffer;
    ThreadBuffer* held[kBatch];
    std::size_t batch = 0;
    const std::size_t count = g_slot_count.load(std::memory_order_acquire);
    for (std::size_t i = 0; i < count; ++i) {
        ThreadBuffer* buffer = g_slots[i].load(std::memory_order_acquire);
        if (!buffer || !buffer->in_use.load(std::memory_order_acquire)) continue;
        if (buffer == own) {
            flush_own(*buffer, wait, interrupted);
        } else if (wait) {
            if (!buffer->lock_from_outside(kFinalWaitNs)) {
                say_buffer_left(false);
                continue;
            }
            hand_over_from_outside(*buffer);
        } else if (!buffer->flush_wanted()) {
            buffer->want_flush(true); // the owner writes it
        } else if (buffer->lock_within(kPeriodicWaitNs)) {
            // Asked last round and not come by since: idle (or dead). Written from here.
            held[batch++] = buffer;
            if (batch == kBatch) {
                flush_batch(held, batch);
                batch = 0;
            }
        }
    }
    if (batch) flush_batch(held, batch);
}

void release_current_thread_buffer() noexcept {
    // Inside the tracer, as every other writer: the last flush may make a compression
    // context (compressor.cpp maps it), and that mapping is the tracer's, not the program's
    // (before, a thread ending while every context was busy left ~700 kB of "leaked"
    // anonymous mapping in the trace, and an extra allocation).
    ReentrancyGuard guard;
    ThreadBuffer* buffer = t_thread.buffer;
    if (buffer == &g_no_buffer) return;
    t_thread.buffer = &g_no_buffer;
    buffer->owner_enter();
    hand_over(*buffer);
    buffer->owner_exit(); // before in_use: the next owner's busy flag must not be ours
    buffer->in_use.store(false, std::memory_order_release);
}

void reset_buffers_after_fork() noexcept {
    ThreadBuffer* const own = t_thread.buffer;
    const std::size_t count = g_slot_count.load(std::memory_order_acquire);
    for (std::size_t i = 0; i < count; ++i) {
        ThreadBuffer* buffer = g_slots[i].load(std::memory_order_acquire);
        if (!buffer) continue;
        buffer->used = 0;
        buffer->first_seq = kNoSequence;
        buffer->last_address = 0;
        buffer->raw_next = buffer->raw_end = buffer->raw;
        buffer->in_use.store(buffer == own, std::memory_order_relaxed);
        buffer->outsider.store(0, std::memory_order_relaxed);
        buffer->busy.store(false, std::memory_order_relaxed);
        buffer->in_transit.store(false, std::memory_order_relaxed);
    }
    forget_number_blocks();
    if (own != &g_no_buffer) own->tid = current_tid();
    g_spare.outsider.store(0, std::memory_order_relaxed);
    g_transit.outsider.store(0, std::memory_order_relaxed);
    enable_fence_free_owners(); // the child is one thread: nobody relies on it yet
}

} // namespace memopt::preload
