#pragma once
// Stands in for the trace file in tests that drive the tracer core directly: the core's
// sink writes chunks here (preload::sink_use_writer(ChunkCollector::write)), and save()
// turns them into a trace file the reader can open. Header-only, so the ThreadSanitizer
// build can compile it in without another library.
#include "profiler/preload/reentrancy_guard.h"
#include "profiler/preload/sink.h"
#include "profiler/preload/thread_buffer.h"
#include "profiler/preload/tracer.h"
#include "profiler/trace/chunk_builder.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <vector>

namespace memopt::test {

class ChunkCollector {
  public:
    static bool write(const std::uint8_t* data, std::size_t size) noexcept {
        std::lock_guard<std::mutex> lock(mutex_);
        bytes_.insert(bytes_.end(), data, data + size);
        return true;
    }

    static void clear() {
        std::lock_guard<std::mutex> lock(mutex_);
        bytes_.clear();
    }

    static std::size_t size() {
        std::lock_guard<std::mutex> lock(mutex_);
        return bytes_.size();
    }

    // Writes a file header and the collected chunks to `path`; returns it.
    static std::filesystem::path save(const std::filesystem::path& path) {
        std::lock_guard<std::mutex> lock(mutex_);
        std::ofstream file(path, std::ios::binary);
        const auto header = trace::file_header();
        file.write(reinterpret_cast<const char*>(header.data()), static_cast<std::streamsize>(header.size()));
        file.write(reinterpret_cast<const char*>(bytes_.data()), static_cast<std::streamsize>(bytes_.size()));
        return path;
    }

  private:
    static inline std::mutex mutex_;
    static inline std::vector<std::uint8_t> bytes_;
};

// Starts the tracer core writing into the collector: empty, numbering from 0, a process
// start record first.
inline void begin_in_memory_trace(const preload::TracerConfig& config = {}) {
    ChunkCollector::clear();
    preload::sink_use_writer(ChunkCollector::write);
    preload::tracer_reset_sequence();
    preload::tracer_configure(config);
    preload::tracer_set_active(true);
    preload::record_process_start(trace::ProcessOrigin::kLaunched);
}

// Flushes every thread's buffer into the collector and stops the tracer.
inline void end_in_memory_trace() {
    {
        preload::ReentrancyGuard guard;
        preload::flush_all_buffers(true);
    }
    preload::tracer_set_active(false);
    preload::tracer_configure({});
}

} // namespace memopt::test
