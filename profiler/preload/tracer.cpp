#include "profiler/preload/tracer.h"

#include "profiler/preload/fast_gate.h"
#include "profiler/preload/inprocess_api.h"
#include "profiler/preload/record_fast.h"
#include "profiler/preload/reentrancy_guard.h"
#include "profiler/preload/sink.h"
#include "profiler/preload/stacks.h"
#include "profiler/preload/thread_buffer.h"
#include "profiler/trace/encoding.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <ctime>
#include <unistd.h>

namespace memopt::preload {

__thread ThreadState t_thread __attribute__((tls_model("initial-exec"))) = {0, 0, &g_no_buffer, 0};
std::atomic<bool> g_tracer_active{false};
std::atomic<unsigned> g_fast_gate{kGateNotLookedUp | kGateInactive | kGateOwnerFences};
TracerConfig g_tracer_config;
SequenceCounter g_sequence;

namespace {

using namespace trace;

std::atomic<bool> g_disabled{false};

// Anonymous mappings this large always carry a stack (keep in step with
// reports/analysis/reservations.h).
constexpr std::size_t kLargeMappingBytes = std::size_t{8} << 20;

// Largest record the hot path writes: skip + stack ref + unaligned event.
constexpr std::size_t kMaxEventRecord = 3 * (2 + kMaxVarintSize) + 2 * kMaxVarintSize;

std::size_t bounded_length(const char* text, std::size_t limit) noexcept {
    std::size_t n = 0;
    while (n < limit && text[n] != '\0') ++n;
    return n;
}

void append_bytes_field(ThreadBuffer& buffer, const char* text, std::size_t length) noexcept {
    std::uint8_t* out = put_varint(buffer.cursor(), length);
    std::memcpy(out, text, length);
    buffer.used = static_cast<std::size_t>(out + length - buffer.payload());
}

inline __attribute__((always_inline)) void append_event_locked(ThreadBuffer& buffer, RecordKind kind, std::uint64_t address,
                         bool has_size, std::uint64_t size, std::uint64_t seq,
                         std::uint64_t stack) noexcept {
    begin_sequenced_record(buffer, seq);
    std::uint8_t* out = buffer.cursor();
    if (stack != 0) {
        out = put_extended_head(out, ExtendedType::kStackRef);
        out = put_varint(out, stack);
    }
    if ((address & ((1u << kAddressShift) - 1)) == 0) {
        const std::uint64_t units = address >> kAddressShift;
        const auto delta = static_cast<std::int64_t>(units - buffer.last_address);
        out = put_varint(out, record_head(kind, zigzag(delta)));
        buffer.last_address = units;
    } else {
        out = put_extended_head(out, ExtendedType::kUnaligned);
        *out++ = static_cast<std::uint8_t>(kind);
        out = put_varint(out, address);
    }
    if (has_size) out = put_varint(out, size);
    buffer.used = static_cast<std::size_t>(out - buffer.payload());
}

// Which buffer a record goes to. The thread's own, normally. When the caller interrupted
// the tracer on this thread (a signal handler: the guard was already held), the
// interrupted code may hold the own buffer's lock, so it is only tried; records that must
// get out (`spare_allowed`: unsequenced ones, and the final kProcessExit) then go to the
// spare buffer, which is written at once.
class RecordBuffer {
  public:
    RecordBuffer(bool interrupted, bool spare_allowed) noexcept {
        ThreadBuffer* own = current_thread_buffer();
        if (own && (interrupted ? own->owner_try_enter(kInterruptedWaitNs) : (own->owner_enter(), true))) {
            buffer_ = own;
        } else if (spare_allowed) {
            buffer_ = lock_spare_buffer();
            spare_ = buffer_ != nullptr;
        }
    }
    ~RecordBuffer() {
        if (spare_) flush_spare_buffer(*buffer_);
        else if (buffer_) buffer_->owner_exit();
    }
    RecordBuffer(const RecordBuffer&) = delete;
    RecordBuffer& operator=(const RecordBuffer&) = delete;
    ThreadBuffer* get() const noexcept { return buffer_; }
    bool spare() const noexcept { return spare_; }

  private:
    static constexpr std::uint64_t kInterruptedWaitNs = 1'000'000;
    ThreadBuffer* buffer_ = nullptr;
    bool spare_ = false;
};

// Gives the rest of the block back and reserves a new one (next_number's slow path).
__attribute__((noinline)) std::uint64_t reserve_number_block(ThreadBuffer& buffer) noexcept {
    const bool interrupted = buffer.next_number < buffer.block_end; // another thread reserved since
    give_back_numbers(buffer);
    const std::uint64_t size = interrupted || buffer.block_size == 0
                                   ? 1
                                   : std::min<std::uint64_t>(2 * buffer.block_size, kMaxNumberBlock);
    const std::uint64_t first = g_sequence.value.fetch_add(size, std::memory_order_relaxed);
    buffer.next_number = first + 1;
    buffer.block_end = first + size;
    buffer.block_size = size;
    // The span a chunk may have (thread_buffer.h) is checked here, once a block, rather
    // than at every record of the fast path (record_fast.h).
    if (buffer.first_seq != kNoSequence && buffer.block_end - buffer.first_seq > kMaxChunkSpan) flush_locked(buffer);
    return first;
}

// The next number of the buffer's owner (inside its buffer). tracer.h says why this order
// is the program's.
inline std::uint64_t next_number(ThreadBuffer& buffer) noexcept {
    if (__builtin_expect(buffer.next_number < buffer.block_end &&
                             g_sequence.value.load(std::memory_order_relaxed) == buffer.block_end,
                         true))
        return buffer.next_number++;
    return reserve_number_block(buffer);
}

inline std::uint64_t number_for(ThreadBuffer& buffer, std::uint64_t seq) noexcept {
    return seq == kNextSequence ? next_number(buffer) : seq;
}

// A sequenced extended record with a time stamp; `fill` appends the rest of the fields.
// The number is taken once a buffer is held, so a record that cannot be written leaves no
// gap in the numbering.
template <typename Fill>
void append_timed_record(ExtendedType type, std::size_t extra_bytes, bool spare_allowed, Fill&& fill) noexcept {
    if (!tracer_active()) return;
    ReentrancyGuard guard;
    RecordBuffer held(!guard.entered(), spare_allowed);
    ThreadBuffer* buffer = held.get();
    if (!buffer || !ensure_room(*buffer, kMaxEventRecord + extra_bytes)) return;
    // The spare is shared and not this thread's: a fresh number, above every block.
    const std::uint64_t seq = held.spare() ? g_sequence.value.fetch_add(1, std::memory_order_relaxed) : next_number(*buffer);
    const std::uint64_t now = monotonic_ns();
    begin_sequenced_record(*buffer, seq);
    std::uint8_t* out = put_extended_head(buffer->cursor(), type);
    out = put_varint(out, now);
    buffer->used = static_cast<std::size_t>(out - buffer->payload());
    fill(*buffer);
}

// An unsequenced extended record.
template <typename Fill>
void append_plain_record(ExtendedType type, std::size_t extra_bytes, Fill&& fill) noexcept {
    ReentrancyGuard guard;
    RecordBuffer held(!guard.entered(), true);
    ThreadBuffer* buffer = held.get();
    if (!buffer || !ensure_room(*buffer, kMaxEventRecord + extra_bytes)) return;
    std::uint8_t* out = put_extended_head(buffer->cursor(), type);
    buffer->used = static_cast<std::size_t>(out - buffer->payload());
    fill(*buffer);
}

void append_varint(ThreadBuffer& buffer, std::uint64_t value) noexcept {
    buffer.used = static_cast<std::size_t>(put_varint(buffer.cursor(), value) - buffer.payload());
}

} // namespace

void tracer_configure(const TracerConfig& config) noexcept {
    g_tracer_config = config;
    fast_gate_set(kGateStacks, config.stack_sample_bytes != 0); // the acquisitions' sampled variant
}

void tracer_set_active(bool active) noexcept {
    const bool on = active && !g_disabled.load();
    if (!on) fast_gate_set(kGateInactive, true); // shut before the flag goes off
    g_tracer_active.store(on, std::memory_order_release);
    if (on) fast_gate_set(kGateInactive, false);
}

void tracer_disable(const char* why) noexcept {
    fast_gate_set(kGateInactive, true);
    g_tracer_active.store(false);
    if (!g_disabled.exchange(true)) say_signal_safe(why);
}

void tracer_stop(const char* why) noexcept {
    record_tracer_error(why);
    tracer_disable(why);
}

void tracer_reset_sequence() noexcept {
    g_sequence.value.store(0);
    forget_number_blocks();
}

std::uint64_t take_sequence() noexcept {
    ThreadBuffer* buffer = current_thread_buffer();
    // No buffer (an untraced thread): a fresh number, filled when its record comes.
    if (!buffer) return g_sequence.value.fetch_add(1, std::memory_order_relaxed);
    buffer->owner_enter();
    const std::uint64_t seq = next_number(*buffer);
    buffer->owner_exit();
    return seq;
}

std::uint64_t monotonic_ns() noexcept {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000ull +
           static_cast<std::uint64_t>(now.tv_nsec);
}

namespace {

// A thread that just went untraced (no buffer) had already taken a number for the event
// that found it out; fill it in the spare buffer, so the reader does not wait for it. That
// thread has no chunks of its own, so its one spare chunk cannot be out of order.
void fill_number_without_buffer(std::uint64_t seq) noexcept {
    ThreadBuffer* spare = nullptr;
    for (int attempt = 0; attempt < 100000 && !(spare = lock_spare_buffer()); ++attempt) __builtin_ia32_pause();
    if (!spare) return;
    append_event_locked(*spare, RecordKind::kMunmap, 0, true, 0, seq, 0);
    flush_spare_buffer(*spare);
}

} // namespace

namespace {

// A countdown over allocated bytes, inline; stack_sample_due draws the next one (stacks.h).
inline bool stack_sample_wanted(std::size_t size, std::uint64_t mean) noexcept {
    if (mean <= 1) return true;
    t_thread.bytes_until_sample -= static_cast<std::int64_t>(size);
    return t_thread.bytes_until_sample <= 0 && stack_sample_due(size, mean);
}

// Out of line: the frame array lives only on this path's stack.
__attribute__((noinline)) void record_allocation_with_stack(ThreadBuffer& buffer, RecordKind kind,
                                                             std::uintptr_t address, std::size_t size,
                                                             std::uint64_t seq) noexcept {
    std::uintptr_t ips[kMaxStackDepth];
    const int depth = capture_stack(ips, kMaxStackDepth);
    buffer.owner_enter();
    std::uint64_t stack = 0;
    if (depth > 0 && ensure_room(buffer, 2 * kMaxEventRecord)) stack = intern_stack(buffer, ips, depth);
    if (ensure_room(buffer, kMaxEventRecord))
        append_event_locked(buffer, kind, address, true, size, number_for(buffer, seq), stack);
    buffer.owner_exit();
}

} // namespace

void record_allocation(RecordKind kind, const void* address, std::size_t size,
                       std::uint64_t seq) noexcept {
    // The hooks try the raw window first themselves; callers of the core (tests) go the
    // same way. A mapping may need a stack even with stacks off (below).
    if (seq == kNextSequence && kind != RecordKind::kMmap && record_allocation_fast(kind, address, size)) return;
    inprocess_note_allocation(kind, address, size, seq); // in-process totals (inprocess_api.h)
    ThreadBuffer* buffer = current_thread_buffer();
    if (!buffer) {
        if (seq != kNextSequence) fill_number_without_buffer(seq);
        return;
    }
    const std::uint64_t mean = g_tracer_config.stack_sample_bytes;
    // A large anonymous mapping gets a stack even with stacks off, so the report can name
    // who reserved it (OpenBLAS maps 128 MiB per BLAS thread; reports/analysis/reservations.h).
    // Such mappings are rare, and with stacks off no estimate counts them as samples.
    const bool stack = mean != 0 ? stack_sample_wanted(size, mean)
                                 : kind == RecordKind::kMmap && size >= kLargeMappingBytes;
    const auto at = reinterpret_cast<std::uintptr_t>(address);
    if (__builtin_expect(stack, false)) return record_allocation_with_stack(*buffer, kind, at, size, seq);
    buffer->owner_enter();
    if (ensure_room(*buffer, kMaxEventRecord))
        append_event_locked(*buffer, kind, at, true, size, number_for(*buffer, seq), 0);
    buffer->owner_exit();
}

void record_release(RecordKind kind, const void* address, std::size_t size,
                    std::uint64_t seq) noexcept {
    if (seq == kNextSequence && kind == RecordKind::kFree && record_free_fast(address)) return;
    inprocess_note_release(kind, address, size, seq); // in-process totals (inprocess_api.h)
    ThreadBuffer* buffer = current_thread_buffer();
    if (!buffer) {
        if (seq != kNextSequence) fill_number_without_buffer(seq);
        return;
    }
    buffer->owner_enter();
    if (ensure_room(*buffer, kMaxEventRecord))
        append_event_locked(*buffer, kind, reinterpret_cast<std::uintptr_t>(address),
                            kind == RecordKind::kMunmap, size, number_for(*buffer, seq), 0);
    buffer->owner_exit();
}

namespace {

void append_mremap_locked(ThreadBuffer& buffer, std::uint64_t from, std::uint64_t from_length,
                          std::uint64_t to, std::uint64_t to_length, std::uint64_t seq) noexcept {
    begin_sequenced_record(buffer, seq);
    std::uint8_t* out = put_extended_head(buffer.cursor(), ExtendedType::kMremap);
    out = put_varint(out, from);
    out = put_varint(out, from_length);
    out = put_varint(out, to);
    out = put_varint(out, to_length);
    buffer.used = static_cast<std::size_t>(out - buffer.payload());
}

} // namespace

void record_mremap(const void* old_address, std::size_t old_length, const void* new_address,
                   std::size_t new_length, std::uint64_t release_seq, std::uint64_t acquire_seq) noexcept {
    // In-process totals (inprocess_api.h).
    inprocess_note_mremap(old_address, old_length, new_address, new_length, release_seq, acquire_seq);
    ThreadBuffer* buffer = current_thread_buffer();
    if (!buffer) {
        fill_number_without_buffer(release_seq);
        if (acquire_seq != kNextSequence) fill_number_without_buffer(acquire_seq);
        return;
    }
    const std::uint64_t park = kMremapParkBase | ((release_seq & kMremapParkSeqMask) << 12);
    buffer->owner_enter();
    if (ensure_room(*buffer, 2 * (kMaxEventRecord + 4 * kMaxVarintSize))) {
        append_mremap_locked(*buffer, reinterpret_cast<std::uintptr_t>(old_address), old_length, park,
                             old_length, release_seq);
        append_mremap_locked(*buffer, park, old_length, reinterpret_cast<std::uintptr_t>(new_address),
                             new_length, number_for(*buffer, acquire_seq));
    }
    buffer->owner_exit();
}

void record_placeholder(std::uint64_t seq) noexcept {
    ThreadBuffer* buffer = current_thread_buffer();
    if (!buffer) return fill_number_without_buffer(seq);
    buffer->owner_enter();
    if (ensure_room(*buffer, kMaxEventRecord))
        append_event_locked(*buffer, RecordKind::kMunmap, 0, true, 0, seq, 0);
    buffer->owner_exit();
}

void record_rss(std::uint64_t resident_pages) noexcept {
    if (!tracer_active()) return;
    const std::uint64_t position = g_sequence.value.load(std::memory_order_relaxed);
    const std::uint64_t now = monotonic_ns();
    append_plain_record(ExtendedType::kRss, 0, [&](ThreadBuffer& buffer) {
        append_varint(buffer, now);
        append_varint(buffer, resident_pages);
        append_varint(buffer, position);
    });
}

void record_phase(bool begin, const char* name) noexcept {
    constexpr std::size_t kMaxName = 256;
    const std::size_t length = name ? bounded_length(name, kMaxName) : 0;
    append_timed_record(begin ? ExtendedType::kPhaseBegin : ExtendedType::kPhaseEnd, kMaxName, false,
                        [&](ThreadBuffer& buffer) { append_bytes_field(buffer, name, length); });
}

void record_process_start(ProcessOrigin origin) noexcept {
    append_plain_record(ExtendedType::kProcessStart, 0, [&](ThreadBuffer& buffer) {
        append_varint(buffer, static_cast<std::uint64_t>(::getpid()));
        append_varint(buffer, static_cast<std::uint64_t>(::getppid()));
        append_varint(buffer, monotonic_ns());
        *buffer.cursor() = static_cast<std::uint8_t>(origin);
        buffer.used += 1;
        append_varint(buffer, static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)));
        append_varint(buffer, g_tracer_config.stack_sample_bytes);
    });
}

void record_command(const char* words, std::size_t length) noexcept {
    std::size_t argc = 0;
    for (std::size_t i = 0; i < length; ++i) argc += words[i] == '\0' ? 1 : 0;
    // Each word: a varint length (at most 2 bytes for a word under 16 KiB) and its bytes.
    append_plain_record(ExtendedType::kCommand, length + 2 * argc + 10, [&](ThreadBuffer& buffer) {
        append_varint(buffer, argc);
        for (std::size_t start = 0; start < length;) {
            const std::size_t word = bounded_length(words + start, length - start);
            append_bytes_field(buffer, words + start, word);
            start += word + 1;
        }
    });
}

void record_process_exit(std::uint64_t vm_hwm_kib) noexcept {
    append_timed_record(ExtendedType::kProcessExit, 0, true,
                        [&](ThreadBuffer& buffer) { append_varint(buffer, vm_hwm_kib); });
}

void record_fork(pid_t child) noexcept {
    // Sequenced so the reader can place it, but carries no time: reuse the timed layout.
    append_timed_record(ExtendedType::kFork, 0, false, [&](ThreadBuffer& buffer) {
        append_varint(buffer, static_cast<std::uint64_t>(child));
    });
}

// Bounded: the holder may be this very thread, interrupted by a signal handler.
constexpr std::uint64_t kErrorSpareWaitNs = 200'000'000;

void record_tracer_error(const char* message) noexcept {
    // A failing write reports itself through here; its own report must not recurse.
    static __thread bool t_reporting __attribute__((tls_model("initial-exec"))) = false;
    if (t_reporting) return;
    t_reporting = true;
    const std::size_t length = bounded_length(message, 512);
    {
        ReentrancyGuard guard;
        // The own buffer only when free this instant: the caller may be holding it (a failed
        // flush). Otherwise the spare buffer, written at once.
        ThreadBuffer* own = thread_untraced() ? nullptr : current_thread_buffer();
        const bool own_held = own && own->owner_try_enter(0);
        // The spare may be busy with other threads' records (hundreds of threads left
        // untraced at once each fill a number there): wait, bounded, rather than drop the
        // record that says data is missing.
        ThreadBuffer* buffer = own_held ? own : lock_spare_buffer(kErrorSpareWaitNs);
        if (buffer && ensure_room(*buffer, kMaxEventRecord + 512)) {
            std::uint8_t* out = put_extended_head(buffer->cursor(), ExtendedType::kTracerError);
            buffer->used = static_cast<std::size_t>(out - buffer->payload());
            append_bytes_field(*buffer, message, length);
            sink_use_reserve(true);
            flush_locked(*buffer); // errors go out at once: a SIGKILL must not take them
            sink_use_reserve(false);
        }
        if (own_held) own->owner_exit();
        else if (buffer) buffer->unlock();
    }
    t_reporting = false;
}

void append_tracer_note_locked(ThreadBuffer& buffer, TracerNote note, std::uint64_t count) noexcept {
    if (!ensure_room(buffer, kMaxEventRecord)) return;
    std::uint8_t* out = put_extended_head(buffer.cursor(), ExtendedType::kTracerNote);
    out = put_varint(out, static_cast<std::uint64_t>(note));
    out = put_varint(out, count);
    buffer.used = static_cast<std::size_t>(out - buffer.payload());
}

void note_thread_start(ThreadBuffer& buffer) noexcept {
    buffer.owner_enter();
    if (ensure_room(buffer, kMaxEventRecord)) {
        std::uint8_t* out = put_extended_head(buffer.cursor(), ExtendedType::kThreadStart);
        out = put_varint(out, monotonic_ns());
        buffer.used = static_cast<std::size_t>(out - buffer.payload());
    }
    buffer.owner_exit();
}

void flush_current_thread() noexcept {
    ReentrancyGuard guard;
    ThreadBuffer* buffer = current_thread_buffer();
    if (!buffer) return;
    buffer->owner_enter();
    flush_locked(*buffer);
    buffer->owner_exit();
}

} // namespace memopt::preload
