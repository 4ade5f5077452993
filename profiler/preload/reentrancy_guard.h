#pragma once
// The tracer's single reentrancy guard. Any allocation made while a thread is inside the
// tracer (its own bookkeeping, libunwind, write(2) failing into a message, dlsym) goes
// straight to the real allocator and is not recorded, so hooks never recurse.

namespace memopt::preload {

// initial-exec: reading it never allocates (a dynamic TLS access could call malloc).
// __thread rather than thread_local: no TLS wrapper function or init check on every access
// (and none for UBSan to trip over).
// Two bits in one byte, so the hooks' "record this call?" test stays one load:
// kInsideTracer while the thread runs tracer code, kThreadUntraced for good once the
// thread could not get a buffer (thread_buffer.h). Zero: record.
extern __thread unsigned char t_inside_tracer __attribute__((tls_model("initial-exec")));
inline constexpr unsigned char kInsideTracer = 1;
inline constexpr unsigned char kThreadUntraced = 2;

inline bool thread_inside_tracer() noexcept { return (t_inside_tracer & kInsideTracer) != 0; }
inline bool thread_untraced() noexcept { return (t_inside_tracer & kThreadUntraced) != 0; }
inline void mark_thread_untraced() noexcept { t_inside_tracer |= kThreadUntraced; }

class ReentrancyGuard {
  public:
    ReentrancyGuard() noexcept : entered_(!thread_inside_tracer()) { t_inside_tracer |= kInsideTracer; }
    ~ReentrancyGuard() {
        if (entered_) t_inside_tracer &= static_cast<unsigned char>(~kInsideTracer);
    }
    ReentrancyGuard(const ReentrancyGuard&) = delete;
    ReentrancyGuard& operator=(const ReentrancyGuard&) = delete;

    // False when the thread was already inside the tracer: do not record.
    bool entered() const noexcept { return entered_; }

  private:
    bool entered_;
};

} // namespace memopt::preload
