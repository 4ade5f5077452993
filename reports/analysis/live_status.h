#pragma once
// `memopt record --live`: while the command runs, a watcher thread prints one line a second
// with its heap (from the trace file as it grows), its RSS (/proc/PID/status) and the phase
// it is in. It only reads: the trace is never written, and the watcher runs at the lowest
// CPU priority and reads the trace at most as often as keeps its reading under ~5 % of the
// time (a long run's trace is re-read from the start each time; the tracer flushes every
// 20 ms, so what it reads is at most that much behind).
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace memopt::reports {

struct LiveReading {
    double elapsed_s = 0;
    bool heap_known = false;         // the trace could be read
    std::uint64_t heap_bytes = 0;    // requested bytes live now: malloc family + anonymous mmap
    std::uint64_t peak_heap_bytes = 0;
    std::optional<std::uint64_t> rss_bytes; // the process's VmRSS; nullopt once it has ended
    std::string phase;               // innermost open memopt.phase(), "" when none
};

// What the trace says so far (the heap now, its peak and the open phase). Never throws: a
// trace that cannot be read (yet) gives heap_known = false.
LiveReading read_trace_so_far(const std::filesystem::path& trace);

// VmRSS of process `pid` from /proc/PID/status, nullopt when it is gone.
std::optional<std::uint64_t> resident_bytes(int pid);

// "live 3.0 s: heap 52.1 MB (peak 60.0 MB), RSS 75.3 MB, phase train"
std::string live_line(const LiveReading& reading);

class LiveStatus {
  public:
    using Print = std::function<void(const std::string& line)>;
    // Starts the watcher thread; `print` is called from it once every `period`.
    LiveStatus(std::filesystem::path trace, int pid, Print print,
               std::chrono::milliseconds period = std::chrono::milliseconds(1000));
    ~LiveStatus(); // stops the watcher and waits for it
    LiveStatus(const LiveStatus&) = delete;
    LiveStatus& operator=(const LiveStatus&) = delete;

  private:
    void watch();

    std::filesystem::path trace_;
    int pid_;
    Print print_;
    std::chrono::milliseconds period_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false;
    std::thread thread_;
};

} // namespace memopt::reports
