// PyTraceMalloc_Track/Untrack interposers: see tracemalloc_interpose.h.
#include "profiler/probe/tracemalloc_interpose.h"

#include "profiler/probe/alloc_sampler.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <dlfcn.h>

namespace memopt::probe {

namespace {

using TrackFn = int (*)(unsigned int, std::uintptr_t, std::size_t);
using UntrackFn = int (*)(unsigned int, std::uintptr_t);
std::atomic<TrackFn> g_real_track{nullptr};
std::atomic<UntrackFn> g_real_untrack{nullptr};

} // namespace

void tracemalloc_interpose_resolve() {
    g_real_track = reinterpret_cast<TrackFn>(::dlsym(RTLD_NEXT, "PyTraceMalloc_Track"));
    g_real_untrack = reinterpret_cast<UntrackFn>(::dlsym(RTLD_NEXT, "PyTraceMalloc_Untrack"));
}

} // namespace memopt::probe

extern "C" __attribute__((visibility("default"), used)) int PyTraceMalloc_Track(unsigned int domain,
                                                                               std::uintptr_t ptr,
                                                                               std::size_t size) {
    using namespace memopt::probe;
    alloc_sampler_on_alloc(reinterpret_cast<void*>(ptr), size);
    TrackFn real = g_real_track.load(std::memory_order_relaxed);
    if (!real) {
        tracemalloc_interpose_resolve();
        real = g_real_track.load(std::memory_order_relaxed);
    }
    return real ? real(domain, ptr, size) : -2;
}

extern "C" __attribute__((visibility("default"), used)) int PyTraceMalloc_Untrack(unsigned int domain,
                                                                                 std::uintptr_t ptr) {
    using namespace memopt::probe;
    alloc_sampler_on_free(reinterpret_cast<void*>(ptr));
    UntrackFn real = g_real_untrack.load(std::memory_order_relaxed);
    if (!real) {
        tracemalloc_interpose_resolve();
        real = g_real_untrack.load(std::memory_order_relaxed);
    }
    return real ? real(domain, ptr) : -2;
}
