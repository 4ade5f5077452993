#include "transforms/acceptance.h"

#include "common/error.h"
#include "common/sizes.h"

#include <algorithm>
#include <fmt/format.h>

namespace memopt::transforms {

namespace {

std::uint64_t median(std::vector<std::uint64_t> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

std::uint64_t spread(const std::vector<std::uint64_t>& values) {
    const auto [low, high] = std::minmax_element(values.begin(), values.end());
    return *high - *low;
}

} // namespace

namespace {

// The one rule (acceptance.h): saved more than the larger of `noise` and the minimum.
Acceptance saving_over(std::uint64_t before, std::uint64_t after, std::uint64_t noise) {
    const auto minimum = std::max<std::uint64_t>(kMinimumSavingBytes,
                                                 static_cast<std::uint64_t>(kMinimumSavingFraction * static_cast<double>(before)));
    Acceptance a;
    a.saved_bytes = static_cast<std::int64_t>(before) - static_cast<std::int64_t>(after);
    a.needed_bytes = std::max(noise, minimum);
    a.keep = a.saved_bytes > static_cast<std::int64_t>(a.needed_bytes);
    return a;
}

} // namespace

Acceptance judge_saving(const std::vector<std::uint64_t>& before_runs, const std::vector<std::uint64_t>& after_runs) {
    if (before_runs.empty() || after_runs.empty()) throw Error("internal: a step judged without measured runs");
    const std::uint64_t before = median(before_runs), after = median(after_runs);
    const std::uint64_t noise = std::max(spread(before_runs), spread(after_runs));
    Acceptance a = saving_over(before, after, noise);
    if (!a.keep)
        a.reason = fmt::format("peak RSS {} vs {}: saves {}, not more than {} (the larger of the runs' spread, "
                               "{}, and the minimum, 0.5 % and at least 131.1 kB = 128 KiB)",
                               format_mb(static_cast<double>(after)), format_mb(static_cast<double>(before)),
                               format_size(static_cast<double>(a.saved_bytes)), format_size(static_cast<double>(a.needed_bytes)),
                               format_size(static_cast<double>(noise)));
    return a;
}

Acceptance screen_saving(std::uint64_t current, std::uint64_t candidate, const std::vector<std::uint64_t>& current_runs) {
    const std::uint64_t noise = current_runs.empty() ? 0 : spread(current_runs);
    Acceptance a = saving_over(current, candidate, noise);
    if (!a.keep)
        a.reason = fmt::format("screening run {} vs {}: saves {}, not more than {} (the larger of the current "
                               "program's measured spread, {}, and the minimum, 0.5 % and at least 131.1 kB = 128 KiB)",
                               format_mb(static_cast<double>(candidate)), format_mb(static_cast<double>(current)),
                               format_size(static_cast<double>(a.saved_bytes)), format_size(static_cast<double>(a.needed_bytes)),
                               format_size(static_cast<double>(noise)));
    return a;
}

} // namespace memopt::transforms
