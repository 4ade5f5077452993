#pragma once
// The tracer core: what the hooks call once they have the real result in hand. It turns
// events into records in the calling thread's buffer. Unit tests drive it directly with an
// in-memory sink (sink.h), without preloading anything.
//
// Ordering: every sequenced event has a number of one process-wide sequence, and the reader
// restores the total order from the numbers. A release (free, munmap, the old half of
// realloc) takes its number *before* the real call and an acquisition *after* it, so when
// another thread gets the same address back, its event always carries the larger number.
//
// Numbers are handed out in blocks, so the common event touches no shared cache line: a
// thread reserves a block of the counter with one fetch_add and numbers its events from it
// while the counter still ends at its block, which one relaxed load checks. When another
// thread reserved since, the rest of the block is given back (kSeqVoid) and a new block
// reserved. Why that keeps the order above: when event E of thread X happens before event F
// of thread Y, X reserved E's block before E, so F's check sees the counter at or past the
// end of that block. Seeing it still at the end of Y's own block means X's block came
// before Y's, so every number of X's block is below F's; otherwise F's number comes from a
// reservation made after the check, above all numbers reserved before it. A block doubles
// (up to kMaxNumberBlock) each time it is used up undisturbed and falls back to one number
// after an interruption, so threads that allocate at the same time give back little.
//
// A call that may release fails sometimes, after its number was taken: realloc returning
// NULL (the old block stays valid), a failed mremap. The number must still be filled, or the
// reader waits for it and counts it as lost; record_placeholder fills it with an empty
// kMunmap (address 0, length 0), which changes nothing in any reader.
//
// mremap both releases (the old range) and acquires (the new one), so it takes two numbers,
// one before the call and one after, and is written as two kMremap records: at the first
// the old range moves to a parking address that no user mapping can have (the kernel half,
// kMremapParkBase + first number * 4096), at the second it moves from there to the new
// range. Readers need nothing new: a kMremap of an untracked range is ignored, so an
// untracked mapping stays untracked through the park.
#include "profiler/trace/format.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <sys/types.h>

namespace memopt::preload {

struct ThreadBuffer;

struct TracerConfig {
    std::uint64_t stack_sample_bytes = 0; // 0: no stacks; N: about one stack every N bytes
    unsigned interval_ms = 10;            // RSS sampling period
    std::size_t max_threads = 0;          // threads traced at once; 0: kMaxThreads
};

void tracer_configure(const TracerConfig& config) noexcept;
extern TracerConfig g_tracer_config; // set through tracer_configure
inline const TracerConfig& tracer_config() noexcept { return g_tracer_config; }
void tracer_set_active(bool active) noexcept;
extern std::atomic<bool> g_tracer_active; // read inline by every hook; set through the above
inline bool tracer_active() noexcept { return g_tracer_active.load(std::memory_order_relaxed); }
// Turns tracing off for good and says why, once, on stderr. The program runs on.
void tracer_disable(const char* why) noexcept;
// The same, after writing a TracerError record with `why` where the trace still takes one.
// Every place that stops tracing or drops data goes through here or record_tracer_error.
void tracer_stop(const char* why) noexcept;
// The sequence counter starts again at 0 (new trace file after fork; tests).
void tracer_reset_sequence() noexcept;

inline constexpr std::uint64_t kMaxNumberBlock = 1024;
// The process-wide counter blocks come from, alone in its cache line: threads reserving
// blocks must not evict the flags every hook reads.
struct alignas(64) SequenceCounter {
    std::atomic<std::uint64_t> value{0};
};
extern SequenceCounter g_sequence;
// "Take the next number of this thread": the record functions number the event themselves,
// inside the same visit to the thread's buffer.
inline constexpr std::uint64_t kNextSequence = ~0ull;

// A number for an event of the calling thread whose record is written later (a release
// taken before the real call). Caller holds the ReentrancyGuard.
std::uint64_t take_sequence() noexcept;
std::uint64_t monotonic_ns() noexcept;

// Hot path (caller holds the ReentrancyGuard).
void record_allocation(trace::RecordKind kind, const void* address, std::size_t size,
                       std::uint64_t seq = kNextSequence) noexcept;
void record_release(trace::RecordKind kind, const void* address, std::size_t size,
                    std::uint64_t seq = kNextSequence) noexcept;
inline constexpr std::uint64_t kMremapParkBase = 0xffff800000000000ull;
inline constexpr std::uint64_t kMremapParkSeqMask = (1ull << 35) - 1;
void record_mremap(const void* old_address, std::size_t old_length, const void* new_address,
                   std::size_t new_length, std::uint64_t release_seq,
                   std::uint64_t acquire_seq = kNextSequence) noexcept;
void record_placeholder(std::uint64_t seq) noexcept;

// Less frequent events.
void record_rss(std::uint64_t resident_pages) noexcept;
void record_phase(bool begin, const char* name) noexcept;
void record_process_start(trace::ProcessOrigin origin) noexcept;
// kCommand: `words` as in /proc/self/cmdline (each word ends in NUL), in a child's own trace.
void record_command(const char* words, std::size_t length) noexcept;
void record_process_exit(std::uint64_t vm_hwm_kib) noexcept;
void record_fork(pid_t child) noexcept;
// An unsequenced TracerError record, written at once (the spare buffer when this thread's
// own buffer is busy). Safe in signal handlers and while this thread holds its buffer.
void record_tracer_error(const char* message) noexcept;
// A kTracerNote (format.h) into `buffer`, which the caller holds (the stack sampler, under
// the frame trie's lock): data the tracer could not keep while tracing goes on. The caller
// writes each note once (an atomic flag of its own). No allocation, signal-safe.
void append_tracer_note_locked(ThreadBuffer& buffer, trace::TracerNote note, std::uint64_t count) noexcept;
void note_thread_start(ThreadBuffer& buffer) noexcept;

// Flushes the calling thread's pending records now (before exec, at exit).
void flush_current_thread() noexcept;

} // namespace memopt::preload
