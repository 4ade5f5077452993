#pragma once
// The tracer's single reentrancy guard. Any allocation made while a thread is inside the
// tracer (its own bookkeeping, libunwind, write(2) failing into a message, dlsym) goes
// straight to the real allocator and is not recorded, so hooks never recurse.

namespace memopt::preload {

// initial-exec: reading it never allocates (a dynamic TLS access could call malloc).
// __thread rather than thread_local: no TLS wrapper function or init check on every access
// (and none for UBSan to trip over).
extern __thread bool t_inside_tracer __attribute__((tls_model("initial-exec")));

class ReentrancyGuard {
  public:
    ReentrancyGuard() noexcept : entered_(!t_inside_tracer) { t_inside_tracer = true; }
    ~ReentrancyGuard() {
        if (entered_) t_inside_tracer = false;
    }
    ReentrancyGuard(const ReentrancyGuard&) = delete;
    ReentrancyGuard& operator=(const ReentrancyGuard&) = delete;

    // False when the thread was already inside the tracer: do not record.
    bool entered() const noexcept { return entered_; }

  private:
    bool entered_;
};

} // namespace memopt::preload
