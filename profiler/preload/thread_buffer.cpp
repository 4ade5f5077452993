#include "profiler/preload/thread_buffer.h"

#include "profiler/preload/sink.h"
#include "profiler/preload/tracer.h"
#include "profiler/trace/checksum.h"

#include <cerrno>
#include <csignal>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace memopt::preload {
namespace {

// Slots are never unmapped: a flusher may still be looking at a slot while its thread exits.
std::atomic<ThreadBuffer*> g_slots[kMaxThreads];
std::atomic<std::size_t> g_slot_count{0};

thread_local ThreadBuffer* t_buffer __attribute__((tls_model("initial-exec"))) = nullptr;

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

ThreadBuffer* claim_slot() noexcept {
    const std::size_t count = g_slot_count.load(std::memory_order_acquire);
    for (std::size_t i = 0; i < count; ++i) {
        ThreadBuffer* buffer = g_slots[i].load(std::memory_order_acquire);
        bool expected = false;
        if (buffer && buffer->in_use.compare_exchange_strong(expected, true)) return buffer;
    }
    ThreadBuffer* buffer = map_new_buffer();
    if (!buffer) return nullptr;
    buffer->in_use.store(true);
    const std::size_t index = g_slot_count.fetch_add(1);
    if (index >= kMaxThreads) {
        g_slot_count.fetch_sub(1);
        return nullptr;
    }
    g_slots[index].store(buffer, std::memory_order_release);
    return buffer;
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

bool thread_is_alive(pid_t tid) noexcept {
    return ::syscall(SYS_tgkill, ::getpid(), tid, 0) == 0 || errno != ESRCH;
}

} // namespace

ThreadBuffer* current_thread_buffer() noexcept {
    if (t_buffer) return t_buffer;
    ThreadBuffer* buffer = claim_slot();
    if (!buffer) {
        tracer_disable("too many threads for the trace buffers; tracing stopped");
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
    if (!ok) tracer_disable("cannot write the trace file (disk full or closed?); tracing stopped");
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

void flush_all_buffers(bool wait) noexcept {
    const std::size_t count = g_slot_count.load(std::memory_order_acquire);
    for (std::size_t i = 0; i < count; ++i) {
        ThreadBuffer* buffer = g_slots[i].load(std::memory_order_acquire);
        if (!buffer || !buffer->in_use.load(std::memory_order_acquire)) continue;
        if (wait) {
            buffer->lock();
        } else if (!try_lock_briefly(*buffer)) {
            continue; // its owner is inside a long operation; next round
        }
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
}

} // namespace memopt::preload
