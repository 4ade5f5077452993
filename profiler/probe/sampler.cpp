#include "profiler/probe/sampler.h"

#include "profiler/probe/process_stats.h"

namespace memopt::probe {

void Sampler::start(std::chrono::microseconds interval, Tick tick, int ticks_per_call) {
    samples_.reserve(4096);
    stopping_ = false;
    thread_ = std::thread([this, interval, tick, ticks_per_call] { loop(interval, tick, ticks_per_call); });
}

void Sampler::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void Sampler::loop(std::chrono::microseconds interval, Tick tick, int ticks_per_call) {
    int count = 0;
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        samples_.push_back({now_s(), rss_bytes(), in_snapshot.load(std::memory_order_relaxed)});
        if (tick && ++count % ticks_per_call == 0) {
            lock.unlock();
            tick();
            lock.lock();
        }
        wake_.wait_for(lock, interval, [this] { return stopping_; });
    }
}

void Sampler::sample_now() {
    const RssSample sample{now_s(), rss_bytes(), in_snapshot.load(std::memory_order_relaxed)};
    std::lock_guard lock(mutex_);
    samples_.push_back(sample);
}

void Sampler::phase(const char* name, bool begin) {
    const PhaseEvent event{name ? name : "", begin, now_s(), rss_bytes()};
    std::lock_guard lock(mutex_);
    samples_.push_back({event.t, event.rss, in_snapshot.load(std::memory_order_relaxed)});
    phases_.push_back(event);
}

std::vector<RssSample> Sampler::samples() const {
    std::lock_guard lock(mutex_);
    return samples_;
}

std::vector<PhaseEvent> Sampler::phases() const {
    std::lock_guard lock(mutex_);
    return phases_;
}

} // namespace memopt::probe
