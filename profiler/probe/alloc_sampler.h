#pragma once
// Sampled allocation tracking, the probe's default instead of tracemalloc (docs/probe.md).
//
// Hooks on the three PyMem domains (RAW, MEM, OBJ; PyMem_SetAllocator, installed after
// Py_Initialize) forward to the original allocator. Each thread counts the requested bytes
// down from a random, exponentially distributed distance (mean N bytes); the allocation that
// crosses zero is sampled: address -> (size, weight = size / (1 - exp(-size/N)), Python
// stack id). A block of size s is sampled with probability 1 - exp(-s/N), so the sum of the
// weights of live sampled blocks estimates the live bytes without bias. numpy's data buffers
// (malloc'd, announced through PyTraceMalloc_Track/Untrack) are sampled the same way: the
// memopt executable defines those two functions, which extension modules bind to first.
//
// Hot path (alloc_sampler.cpp): countdown decrement + forward on allocation; one byte load in
// a counting filter on free. Sampling takes a mutex; the Python stack is read (public frame
// API, at most kSampledMaxFrames frames outside the import machinery, GC paused) only when the thread holds the GIL. A thread_local flag
// keeps the sampler's own Python calls from being sampled.
//
// Fork: the child inherits the hooks but stops sampling (the mutex may be held by a thread
// that does not exist in the child). Finalisation: sampling is switched off before
// Py_FinalizeEx; the hooks stay installed and only forward.
#include <cstdint>
#include <string>
#include <vector>

namespace memopt::probe {

// Frames kept per sampled stack, innermost first, import machinery left out (import_frames.h).
// 16 reached the script's line for 86 % of the sampled bytes of a scikit-learn example whose
// imports nest deeply; 32 for all of them (docs/probe.md).
constexpr int kSampledMaxFrames = 32;

struct SampledFrame {
    std::string file, function;
    int line = 0;
};

struct SampledStack {
    std::vector<SampledFrame> frames; // innermost first; empty: no Python stack (no GIL)
    std::int64_t bytes = 0;           // estimated live bytes
    std::int64_t samples = 0;         // live sampled blocks
};

struct SampledPeak {
    double t = -1;                   // now_s() when copied; -1: never
    std::int64_t estimate = 0;       // estimated live bytes then
    std::int64_t rss = 0;            // RSS then
    std::vector<SampledStack> stacks; // largest first
};

// Needs the GIL, after Py_Initialize. mean_bytes <= 1: every allocation, exact sizes.
void alloc_sampler_start(std::int64_t mean_bytes);
// Stops sampling (hooks keep forwarding). Needs the GIL.
void alloc_sampler_stop();
// While paused (the probe's own census runs), allocations are not sampled; frees still count.
void alloc_sampler_pause(bool paused);
bool alloc_sampler_running();

// Estimated live bytes (sum of the weights of live sampled blocks) and the highest estimate
// since the previous reset. Lock-free.
std::int64_t alloc_sampler_current();
std::int64_t alloc_sampler_interval_peak();
void alloc_sampler_reset_peak();

// Live totals per stack copied at the highest estimate (in +2 % steps), and now.
SampledPeak alloc_sampler_peak(int top_n);
SampledPeak alloc_sampler_now(int top_n);

struct AllocSamplerStats {
    std::int64_t samples = 0;        // blocks sampled in all
    std::int64_t live_samples = 0;   // sampled blocks still live
    std::int64_t stacks = 0;         // distinct stacks
    std::int64_t table_bytes = 0;    // the sampler's own memory (approximate)
    std::int64_t peak_copies = 0;
};
AllocSamplerStats alloc_sampler_stats();

// Test/diagnostic: the core the hooks call, usable without hooks.
void alloc_sampler_on_alloc(void* ptr, std::size_t size) noexcept;
void alloc_sampler_on_free(void* ptr) noexcept;

} // namespace memopt::probe
