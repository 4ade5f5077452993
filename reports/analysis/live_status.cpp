#include "reports/analysis/live_status.h"

#include "common/sizes.h"
#include "profiler/trace/reader.h"
#include "reports/analysis/live_memory.h"

#include <algorithm>
#include <fmt/format.h>
#include <fstream>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <vector>

namespace memopt::reports {
namespace {

using trace::EventType;

// The heap and the open phases, event by event, as the summary counts them.
class LiveHeap {
  public:
    void consume(const trace::Event& event, const trace::TraceMetadata& meta) {
        live_.consume(event);
        switch (event.type) {
        case EventType::kPhaseBegin: phases_.push_back(meta.names[event.name]); break;
        case EventType::kPhaseEnd: {
            const auto it = std::find(phases_.rbegin(), phases_.rend(), meta.names[event.name]);
            if (it != phases_.rend()) phases_.erase(std::next(it).base());
            break;
        }
        case EventType::kImageStart:
            live_.clear();
            phases_.clear();
            break;
        default: break;
        }
        peak_ = std::max(peak_, now());
    }
    std::uint64_t now() const { return live_.bytes(); }
    std::uint64_t peak() const { return peak_; }
    std::string phase() const { return phases_.empty() ? "" : phases_.back(); }

  private:
    LiveMemory live_;
    std::uint64_t peak_ = 0;
    std::vector<std::string> phases_;
};

// Only this thread: the traced program keeps its priority.
void lower_own_priority() { ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 19); }

} // namespace

LiveReading read_trace_so_far(const std::filesystem::path& trace) {
    LiveReading reading;
    try {
        trace::TraceReader reader(trace);
        LiveHeap heap;
        trace::Event event;
        while (reader.next(event)) heap.consume(event, reader.metadata());
        reading.heap_known = true;
        reading.heap_bytes = heap.now();
        reading.peak_heap_bytes = heap.peak();
        reading.phase = heap.phase();
    } catch (const std::exception&) {
        // A trace still being written may end anywhere; the next reading will do.
    }
    return reading;
}

std::optional<std::uint64_t> resident_bytes(int pid) {
    std::ifstream status(fmt::format("/proc/{}/status", pid));
    std::string key;
    while (status >> key) {
        if (key == "VmRSS:") {
            std::uint64_t kib = 0;
            if (status >> kib) return kib * 1024;
            return std::nullopt;
        }
        status.ignore(1 << 12, '\n');
    }
    return std::nullopt; // gone, or a zombie (no VmRSS line)
}

std::string live_line(const LiveReading& r) {
    std::string line = fmt::format("live {:.1f} s: heap ", r.elapsed_s);
    line += r.heap_known ? fmt::format("{} (peak {})", format_size(static_cast<double>(r.heap_bytes)),
                                       format_size(static_cast<double>(r.peak_heap_bytes)))
                         : "unknown yet";
    line += ", RSS " + (r.rss_bytes ? format_size(static_cast<double>(*r.rss_bytes)) : std::string("(ended)"));
    if (!r.phase.empty()) line += ", phase " + r.phase;
    return line;
}

LiveStatus::LiveStatus(std::filesystem::path trace, int pid, Print print, std::chrono::milliseconds period)
    : trace_(std::move(trace)), pid_(pid), print_(std::move(print)), period_(period) {
    thread_ = std::thread([this] { watch(); });
}

LiveStatus::~LiveStatus() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void LiveStatus::watch() {
    lower_own_priority();
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    auto next_print = start + period_;
    auto next_read = next_print;
    LiveReading last;
    std::unique_lock lock(mutex_);
    while (!wake_.wait_until(lock, next_print, [this] { return stop_; })) {
        lock.unlock();
        const auto now = Clock::now();
        if (now >= next_read) {
            const auto begin = Clock::now();
            last = read_trace_so_far(trace_);
            const auto took = Clock::now() - begin;
            // Reading costs at most ~5 % of the watcher's time: a trace that takes 100 ms to
            // read is read every 2 s, and the lines in between repeat its heap.
            next_read = Clock::now() + std::max<Clock::duration>(took * 20, period_ / 2);
        }
        last.elapsed_s = std::chrono::duration<double>(now - start).count();
        last.rss_bytes = resident_bytes(pid_);
        print_(live_line(last));
        next_print += period_;
        if (next_print < Clock::now()) next_print = Clock::now() + period_;
        lock.lock();
    }
}

} // namespace memopt::reports
