#pragma once
// The embedded module `_memopt_probe` that python/memopt/_probe.py imports, and the poller
// that watches the tracked bytes (sampled estimate or tracemalloc) from the main thread (the sampler thread asks for a poll through
// Py_AddPendingCall; phase markers poll synchronously). When tracked memory reaches a new high
// (10 % above the last snapshot), the poller has the Python side take the peak snapshot:
// top lines and census. Snapshots are rate-limited so that they cost at most ~20 % of the
// run (the next one waits for 4x the cost of the last), and a final one is taken at the end
// if the last high was skipped.
#include "profiler/probe/probe.h"
#include "profiler/probe/sampler.h"

#include <cstdint>
#include <pybind11/pybind11.h>
#include <vector>

namespace memopt::probe {

struct TracedSample {
    double t;
    std::int64_t current;
    std::int64_t interval_peak; // highest traced memory since the previous sample
};

struct PollerStats {
    std::vector<TracedSample> samples;
    int snapshots = 0;
    double snapshot_time_s = 0;
    std::int64_t snapshot_traced = -1;     // traced bytes (RSS without tracemalloc) when the kept snapshot was taken
    std::int64_t max_interval_peak = 0;    // the true traced peak
    std::int64_t rss_before_snapshot = 0;  // RSS just before the kept snapshot
    std::int64_t census_scratch_bytes = 0; // largest scratch the census needed
};

// snapshot: Python callable(top_n) -> cost in seconds. Needs the GIL.
// tracking: where the tracked level comes from (tracemalloc, the sampler's estimate); with
// none, new peaks are judged on RSS (census only).
void poller_start(Sampler& sampler, pybind11::object snapshot, int top_n, AllocTracking tracking);
// Polls once more (taking the final snapshot if due), stops, and releases Python objects.
PollerStats poller_finish();

// For the sampler thread: asks the main thread for a poll.
void sampler_tick();

// After _tracemalloc.start(frames): use 1 frame while imports run (see native_module.cpp).
void tracemalloc_light_imports(int frames);

// Keeps the embedded module's registration linked in.
void native_module_anchor();

} // namespace memopt::probe
