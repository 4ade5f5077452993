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
    // inside_tracer while the thread runs tracer code, untraced for good once the thread
    // could not get a buffer (thread_buffer.h). Separate bytes, so the guard sets and clears
    // its own with plain stores. (Not read as one 16-bit word: that load would wait for the
    // guard's last byte store to reach the cache instead of taking it from the store buffer.)
    unsigned char inside_tracer;
    unsigned char untraced;
    ThreadBuffer* buffer;                // this thread's trace buffer; &g_no_buffer until it has one
    std::int64_t bytes_until_sample;     // stack sampling countdown (stacks.h)
};
extern __thread ThreadState t_thread __attribute__((tls_model("initial-exec")));

inline bool thread_inside_tracer() noexcept { return t_thread.inside_tracer != 0; }
inline bool thread_untraced() noexcept { return t_thread.untraced != 0; }
inline void mark_thread_untraced() noexcept { t_thread.untraced = 1; }
// The hooks' test: neither inside the tracer nor untraced.
inline bool thread_may_record() noexcept { return (t_thread.inside_tracer | t_thread.untraced) == 0; }
// A fresh thread of the tracer's own (the sampler): it starts outside the tracer.
inline void clear_thread_flags() noexcept { t_thread.inside_tracer = t_thread.untraced = 0; }

class ReentrancyGuard {
  public:
    ReentrancyGuard() noexcept : entered_(!thread_inside_tracer()) { t_thread.inside_tracer = 1; }
    ~ReentrancyGuard() {
        if (entered_) t_thread.inside_tracer = 0;
    }
    ReentrancyGuard(const ReentrancyGuard&) = delete;
    ReentrancyGuard& operator=(const ReentrancyGuard&) = delete;

    // False when the thread was already inside the tracer: do not record.
    bool entered() const noexcept { return entered_; }

  private:
    bool entered_;
};

} // namespace memopt::preload
