#pragma once
// Cheap process measurements shared by the sampler thread and the Python side.
#include <cstdint>

namespace memopt::probe {

// Seconds since the probe started (steady clock).
double now_s() noexcept;

// Resident set size from /proc/self/statm; 0 when it cannot be read. Safe from any thread.
std::int64_t rss_bytes() noexcept;

// Peak resident set size of the process so far (VmHWM in /proc/self/status).
std::int64_t vmhwm_bytes() noexcept;

} // namespace memopt::probe
