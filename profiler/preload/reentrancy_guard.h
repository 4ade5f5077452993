#pragma once
// The tracer's single reentrancy guard, and the one block of per-thread state the hot path
// reads. Any allocation made while a thread is inside the tracer (its own bookkeeping,
// libunwind, write(2) failing into a message, dlsym) goes straight to the real allocator and
// is not recorded, so hooks never recurse.
#include <cstdint>

namespace memopt::preload {

struct ThreadBuffer;

// initial-exec: reading it never allocates (a dynamic TLS access could call malloc).
// __thread rather than thread_local: no TLS wrapper function or init check on every access
// (and none for UBSan to trip over). One struct, so a hook finds all of it from one
// thread-pointer offset.
struct ThreadState {
    // Two bits in one byte, so the hooks' "record this call?" test stays one load:
    // kInsideTracer while the thread runs tracer code, kThreadUntraced for good once the
    // thread could not get a buffer (thread_buffer.h). Zero: record.
    unsigned char flags;
    ThreadBuffer* buffer;                // this thread's trace buffer, once it has one
    std::int64_t bytes_until_sample;     // stack sampling countdown (stacks.h)
};
extern __thread ThreadState t_thread __attribute__((tls_model("initial-exec")));
inline constexpr unsigned char kInsideTracer = 1;
inline constexpr unsigned char kThreadUntraced = 2;

inline bool thread_inside_tracer() noexcept { return (t_thread.flags & kInsideTracer) != 0; }
inline bool thread_untraced() noexcept { return (t_thread.flags & kThreadUntraced) != 0; }
inline void mark_thread_untraced() noexcept { t_thread.flags |= kThreadUntraced; }
// The hooks' test: neither inside the tracer nor untraced.
inline bool thread_may_record() noexcept { return t_thread.flags == 0; }
// A fresh thread of the tracer's own (the sampler): it starts outside the tracer.
inline void clear_thread_flags() noexcept { t_thread.flags = 0; }

class ReentrancyGuard {
  public:
    ReentrancyGuard() noexcept : entered_(!thread_inside_tracer()) { t_thread.flags |= kInsideTracer; }
    ~ReentrancyGuard() {
        if (entered_) t_thread.flags &= static_cast<unsigned char>(~kInsideTracer);
    }
    ReentrancyGuard(const ReentrancyGuard&) = delete;
    ReentrancyGuard& operator=(const ReentrancyGuard&) = delete;

    // False when the thread was already inside the tracer: do not record.
    bool entered() const noexcept { return entered_; }

  private:
    bool entered_;
};

} // namespace memopt::preload
