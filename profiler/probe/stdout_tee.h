#pragma once
// Tee of file descriptor 1: while active, everything written to fd 1 (by Python, C
// extensions or child processes) goes through a pipe to a thread that hashes it (SHA-256)
// and passes it on to the original stdout unchanged.
//
// Behaviour differences from a plain run, documented in docs/probe.md: isatty(1) is false
// while the tee is active (Python then block-buffers stdout instead of line-buffering it),
// and a child process that keeps fd 1 open after the script ends is given 0.5 s after
// stop() before the hash is taken.
#include <atomic>
#include <string>
#include <thread>

namespace memopt::probe {

class StdoutTee {
  public:
    StdoutTee() = default;
    StdoutTee(const StdoutTee&) = delete;
    StdoutTee& operator=(const StdoutTee&) = delete;
    ~StdoutTee() { stop(); }

    // Returns false (and leaves fd 1 alone) when the pipe cannot be set up.
    bool start();
    // Restores fd 1, drains the pipe, returns the hex SHA-256 of everything seen.
    std::string stop();

    unsigned long long bytes() const { return bytes_; }

  private:
    void pump();

    int saved_stdout_ = -1;
    int read_end_ = -1;
    bool active_ = false;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
    unsigned long long bytes_ = 0;
    std::string digest_;
    void* context_ = nullptr; // EVP_MD_CTX
};

} // namespace memopt::probe
