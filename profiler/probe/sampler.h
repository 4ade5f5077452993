#pragma once
// The native sampler thread: RSS every interval (it never touches Python, so it keeps
// sampling while the script sits in a long C call) and, every few samples, a request that
// the main thread poll tracemalloc (see Poller in probe.cpp). Phase markers are logged here
// too, with the RSS at the marker.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace memopt::probe {

struct RssSample {
    double t;
    std::int64_t rss;
    bool during_snapshot; // the probe itself was taking its peak snapshot (census, traces)
};

struct PhaseEvent {
    std::string name;
    bool begin;
    double t;
    std::int64_t rss;
};

class Sampler {
  public:
    using Tick = void (*)();

    ~Sampler() { stop(); }
    // `tick` is called from the sampler thread every `ticks_per_call` samples.
    void start(std::chrono::microseconds interval, Tick tick, int ticks_per_call);
    void stop();

    void sample_now();
    void phase(const char* name, bool begin);

    std::vector<RssSample> samples() const;
    std::vector<PhaseEvent> phases() const;

    std::atomic<bool> in_snapshot{false};

  private:
    void loop(std::chrono::microseconds interval, Tick tick, int ticks_per_call);

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
    std::vector<RssSample> samples_;
    std::vector<PhaseEvent> phases_;
};

} // namespace memopt::probe
