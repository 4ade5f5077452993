// Phase markers, exported with C linkage so any language can call them. python/memopt finds
// them through ctypes.CDLL(None) when the library is preloaded.
#include "profiler/preload/tracer.h"

extern "C" {

__attribute__((visibility("default"))) void memopt_phase_begin(const char* name) noexcept {
    memopt::preload::record_phase(true, name);
}

__attribute__((visibility("default"))) void memopt_phase_end(const char* name) noexcept {
    memopt::preload::record_phase(false, name);
}

} // extern "C"
