#pragma once
// memopt probe: runs a Python script as __main__ in an embedded, instrumented CPython and
// writes a profile (JSON schema memopt.profile/1, documented in docs/probe.md).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace memopt::probe {

// How Python allocations are tracked (per-module bytes, top lines, peak detection).
enum class AllocTracking {
    kSampled,     // PyMem hooks + numpy's PyTraceMalloc_Track, Poisson sampling (default, cheap)
    kTracemalloc, // tracemalloc: exact, slower (3-30x)
    kNone,        // neither: import tree without bytes, no top lines, census at the RSS peak
};

struct ProbeOptions {
    std::filesystem::path script;
    std::vector<std::string> args;     // sys.argv[1:]
    int optimize = 0;                  // -O level, 0..2
    std::vector<std::string> xoptions; // -X options, "name" or "name=value"
    std::filesystem::path output;      // the profile to write
    AllocTracking tracking = AllocTracking::kSampled;
    std::int64_t sample_bytes = 256 * 1024; // mean bytes between samples; 1: every allocation
    int frames = 16;                   // tracemalloc frames kept per allocation
    int interval_ms = 10;              // RSS sampling period
    int top = 25;                      // top lines and census rows kept
    bool track_code = true;            // record which functions ran
    bool force = false;                // overwrite an existing profile
};

struct ProbeResult {
    int exit_status = 0; // the script's: 0, N from sys.exit(N), 1 for an uncaught exception
    std::filesystem::path profile;
};

// `SCRIPT.profile.json` in the current directory.
std::filesystem::path default_output(const std::filesystem::path& script);

// Throws memopt::Error when the script is missing or the interpreter cannot start. The
// script's own failure is not an error: its status is returned and the profile written.
// Can run once per process (CPython cannot be re-initialised cleanly).
ProbeResult run(const ProbeOptions& options);

} // namespace memopt::probe
