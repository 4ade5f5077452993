#include "profiler/probe/native_module.h"

#include "profiler/probe/alloc_sampler.h"
#include "profiler/probe/census.h"
#include "profiler/probe/code_tracker.h"
#include "profiler/probe/process_stats.h"
#include "profiler/probe/traces.h"

#include <Python.h>
#include <atomic>
#include <cstdio>
#include <pybind11/embed.h>
#include <pybind11/stl.h>

namespace py = pybind11;

namespace memopt::probe {

namespace {

struct Poller {
    Sampler* sampler = nullptr;
    py::object get_traced, reset_peak, snapshot;
    int top_n = 25;
    bool active = false;
    bool busy = false;
    AllocTracking tracking = AllocTracking::kSampled;
    bool armed = false;
    std::int64_t armed_level = 0;
    std::int64_t threshold = 0;
    double next_allowed = 0;
    PollerStats stats;
};

Poller g_poller;
std::atomic<bool> g_active{false};
std::atomic<bool> g_pending{false};

constexpr double kGrowth = 1.10;
constexpr std::int64_t kMinGrowth = 1 << 20;

// Tracked bytes now and the highest since the previous reset: tracemalloc's traced memory,
// the sampler's estimate, or zeros.
std::pair<std::int64_t, std::int64_t> tracked_level() {
    Poller& p = g_poller;
    switch (p.tracking) {
    case AllocTracking::kTracemalloc: return p.get_traced().cast<std::pair<std::int64_t, std::int64_t>>();
    case AllocTracking::kSampled: return {alloc_sampler_current(), alloc_sampler_interval_peak()};
    case AllocTracking::kNone: break;
    }
    return {0, 0};
}

void reset_peak() {
    Poller& p = g_poller;
    if (p.tracking == AllocTracking::kTracemalloc) p.reset_peak();
    else if (p.tracking == AllocTracking::kSampled) alloc_sampler_reset_peak();
}

void take_snapshot(std::int64_t current) {
    Poller& p = g_poller;
    const std::int64_t rss_before = rss_bytes();
    p.sampler->in_snapshot = true;
    code_tracking_pause(true);
    alloc_sampler_pause(true); // the census's own lists are not the program's
    const double start = now_s();
    try {
        p.snapshot(p.top_n);
        p.stats.snapshot_traced = current;
        p.stats.rss_before_snapshot = rss_before;
    } catch (py::error_already_set& e) {
        std::fprintf(stderr, "memopt probe: peak snapshot failed, no more will be taken: %s\n", e.what());
        p.threshold = INT64_MAX;
    }
    const double cost = now_s() - start;
    p.sampler->in_snapshot = false;
    code_tracking_pause(false);
    alloc_sampler_pause(false);
    ++p.stats.snapshots;
    p.stats.snapshot_time_s += cost;
    p.next_allowed = now_s() + 4 * cost;
    if (p.threshold != INT64_MAX)
        p.threshold = std::max<std::int64_t>(static_cast<std::int64_t>(current * kGrowth), current + kMinGrowth);
    reset_peak(); // the snapshot's own objects are not the program's peak
}

void poll(bool final) {
    Poller& p = g_poller;
    if (!p.active || p.busy) return;
    p.busy = true;
    try {
        auto pair = tracked_level();
        reset_peak();
        std::int64_t level = pair.first; // what decides a new peak: tracked bytes, else RSS
        if (p.tracking == AllocTracking::kNone) level = rss_bytes();
        const double t = now_s();
        p.stats.samples.push_back({t, pair.first, pair.second});
        p.stats.max_interval_peak = std::max(p.stats.max_interval_peak, pair.second);
        const bool due = level >= p.threshold && t >= p.next_allowed && code_tracking_import_depth_now() == 0;
        // A new high arms the snapshot; it is taken at the next poll if the level held. At the
        // moment memory jumps, the new object is often still on a running frame's value stack
        // (np.ones -> empty), where the census cannot see it.
        bool take = false;
        if (p.armed) {
            take = level >= p.armed_level - p.armed_level / 20;
            p.armed = false;
        } else if (due) {
            p.armed = true;
            p.armed_level = level;
        }
        // At the end, a last snapshot only if the level is clearly above the kept one.
        const bool final_due = final && p.threshold != INT64_MAX &&
                               (p.armed || level > p.stats.snapshot_traced + p.stats.snapshot_traced / 20 + kMinGrowth);
        if (take || final_due) take_snapshot(level);
    } catch (py::error_already_set& e) {
        std::fprintf(stderr, "memopt probe: allocation poll failed: %s\n", e.what());
        p.active = false;
    }
    p.busy = false;
}

int pending_poll(void*) {
    g_pending = false;
    if (g_active) poll(false);
    return 0;
}

void request_poll() {
    if (!g_active || g_pending.exchange(true)) return;
    if (Py_AddPendingCall(pending_poll, nullptr) != 0) g_pending = false;
}

void phase_marker(const char* name, bool begin) {
    if (!g_active) return;
    // Poll first, so that the sample closing a phase is not later than its end marker.
    PyGILState_STATE state = PyGILState_Ensure();
    poll(false);
    PyGILState_Release(state);
    g_poller.sampler->phase(name, begin);
}

// tracemalloc keeps max_nframe frames per allocation. While modules are being imported the
// stacks are deep (importlib frames) and allocations many (unmarshalled code objects), and
// 16 frames there cost ~6x what 1 frame costs; the import tree only needs the byte counts.
// So the limit drops to 1 frame during imports and comes back after. CPython 3.11 reads
// _Py_tracemalloc_config.max_nframe on every allocation and sized its traceback buffer at
// start(), so lowering it is safe; the layout is checked before it is touched.
struct TraceMallocConfig {
    int initialized;
    int tracing;
    int max_nframe;
};
extern "C" TraceMallocConfig _Py_tracemalloc_config;
int g_full_frames = 0; // 0: leave tracemalloc alone

void import_depth(int delta) {
    const int before = code_tracking_import_depth_now();
    code_tracking_import_depth(delta);
    if (g_full_frames == 0) return;
    const int after = code_tracking_import_depth_now();
    if (before == 0 && after > 0) _Py_tracemalloc_config.max_nframe = 1;
    else if (before > 0 && after == 0) _Py_tracemalloc_config.max_nframe = g_full_frames;
}

} // namespace

void tracemalloc_light_imports(int frames) {
    auto& config = reinterpret_cast<TraceMallocConfig&>(_Py_tracemalloc_config);
    g_full_frames = (config.tracing == 1 && config.max_nframe == frames && frames > 1) ? frames : 0;
}

void poller_start(Sampler& sampler, py::object snapshot, int top_n, AllocTracking tracking) {
    Poller& p = g_poller;
    p.tracking = tracking;
    p.sampler = &sampler;
    if (tracking == AllocTracking::kTracemalloc) {
        auto tracemalloc = py::module_::import("_tracemalloc");
        p.get_traced = tracemalloc.attr("get_traced_memory");
        p.reset_peak = tracemalloc.attr("reset_peak");
    }
    p.snapshot = std::move(snapshot);
    p.top_n = top_n;
    p.threshold = kMinGrowth;
    p.stats = {};
    p.stats.samples.reserve(4096);
    p.active = true;
    g_active = true;
}

PollerStats poller_finish() {
    Poller& p = g_poller;
    poll(true);
    p.active = false;
    g_active = false;
    p.get_traced = py::object();
    p.reset_peak = py::object();
    p.snapshot = py::object();
    return std::move(p.stats);
}

void native_module_anchor() {}

// Called from the sampler thread.
void sampler_tick() { request_poll(); }

} // namespace memopt::probe

// Phase markers for `import memopt; with memopt.phase(...)` (found with ctypes.CDLL(None);
// the memopt executable exports its symbols).
extern "C" __attribute__((visibility("default"), used)) void memopt_phase_begin(const char* name) {
    memopt::probe::phase_marker(name, true);
}
extern "C" __attribute__((visibility("default"), used)) void memopt_phase_end(const char* name) {
    memopt::probe::phase_marker(name, false);
}

PYBIND11_EMBEDDED_MODULE(_memopt_probe, m) {
    using namespace memopt::probe;
    m.doc() = "native helpers of memopt probe";
    m.def("rss", &rss_bytes, "resident set size in bytes");
    m.def("now", &now_s, "seconds since the probe started");
    m.def("import_depth", &import_depth);
    m.def("start_code_tracking", &code_tracking_start);
    m.def("stop_code_tracking", &code_tracking_stop);
    m.def("track_code_in_this_thread", &code_tracking_start);
    m.def("code_stats", [] {
        py::dict result;
        for (const auto& [module, counts] : code_tracking_stats())
            result[py::str(module)] = py::make_tuple(counts.run, counts.run_after_import);
        return result;
    });
    m.def("census", &take_census);
    m.def("aggregate_traces", &aggregate_traces, py::arg("traces"), py::arg("is_user"), py::arg("top_n"),
          py::arg("count_index") = -1);
    m.def("import_depth_now", &code_tracking_import_depth_now);
    m.def("allocated_now", &alloc_sampler_current, "estimated live bytes (sampled tracking)");
    // Sampled per-stack live totals, shaped like tracemalloc's traces for aggregate_traces:
    // (t, estimate, rss, [(0, bytes, ((file, line), ...), samples)]). at_peak: the copy taken at
    // the highest estimate; otherwise now.
    m.def("sampled_stacks", [](bool at_peak) {
        const SampledPeak peak = at_peak ? alloc_sampler_peak(1 << 30) : alloc_sampler_now(1 << 30);
        py::list rows;
        for (const auto& stack : peak.stacks) {
            py::tuple frames(stack.frames.size());
            for (std::size_t i = 0; i < stack.frames.size(); ++i)
                frames[i] = py::make_tuple(stack.frames[i].file, stack.frames[i].line);
            rows.append(py::make_tuple(0, stack.bytes, frames, stack.samples));
        }
        return py::make_tuple(peak.t, peak.estimate, peak.rss, rows);
    });
    m.def("sampler_stats", [] {
        const AllocSamplerStats s = alloc_sampler_stats();
        py::dict d;
        d["samples"] = s.samples;
        d["live_samples"] = s.live_samples;
        d["stacks"] = s.stacks;
        d["table_bytes"] = s.table_bytes;
        d["peak_copies"] = s.peak_copies;
        return d;
    });
}
