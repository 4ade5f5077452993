#pragma once
// The one acceptance rule of the optimize loop, for every pass (and every option the flags
// pass tries): a step is kept only when its median peak RSS is lower than the current
// program's by more than the noise and a minimum. The noise is the larger spread
// (max - min) of the two sets of measured runs; the minimum is 0.5 % of the current peak and
// at least 128 KiB (below that, a "saving" is what two runs of one program differ by).
#include <cstdint>
#include <string>
#include <vector>

namespace memopt::transforms {

inline constexpr double kMinimumSavingFraction = 0.005;
inline constexpr std::uint64_t kMinimumSavingBytes = 128 * 1024;

struct Acceptance {
    bool keep = false;
    std::int64_t saved_bytes = 0;    // median before - median after (negative: grew)
    std::uint64_t needed_bytes = 0;  // what it had to exceed: max(noise, minimum)
    std::string reason;              // "" when kept, else why not, with the figures
};

// `before_runs` and `after_runs` are the peak RSS of each measured run (bytes, non-empty).
Acceptance judge_saving(const std::vector<std::uint64_t>& before_runs, const std::vector<std::uint64_t>& after_runs);

// The screening of a candidate by one run against one run of the current program, both
// observed the same way (docs/optimize.md, "Speed"): it goes on to the measured runs only when
// its saving exceeds what the rule above will ask at least: the larger of the minimum and the
// spread of the current program's measured runs (`current_runs`; empty: the minimum alone).
Acceptance screen_saving(std::uint64_t current, std::uint64_t candidate, const std::vector<std::uint64_t>& current_runs);

} // namespace memopt::transforms
