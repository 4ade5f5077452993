#pragma once
// The paper's published figures (its section III), shown beside ours.
#include <optional>
#include <string_view>

namespace memopt::reports::study::paper {

// Fig. 2: footprint per optimization step (MB).
inline std::optional<double> footprint_mb(std::string_view pass) {
    if (pass == "baseline") return 258.0;
    if (pass == "static-to-dynamic") return 219.0;
    if (pass == "dead-data") return 147.8;
    if (pass == "flatten") return 112.0;
    if (pass == "flags") return 92.8;
    return std::nullopt;
}

inline constexpr double kBaselineMb = 258.0;
inline constexpr double kFinalMb = 92.8;
inline constexpr double kMemorySavedPct = 64.0;   // 258 -> 92.8
inline constexpr double kLatencySavedPct = 51.0;  // Fig. 4, baseline -> final
// Table I
inline constexpr double kPythonMb = 92.8, kPythonLatencyS = 215, kNativeMb = 2.9, kNativeLatencyS = 142;
inline constexpr double kLocRatio = 3.4;

inline std::string_view step_title(std::string_view pass) {
    if (pass == "baseline") return "1. static baseline";
    if (pass == "static-to-dynamic") return "2. static to dynamic";
    if (pass == "dead-data") return "3. useless data removed";
    if (pass == "flatten") return "4. code hierarchy flattened";
    if (pass == "flags") return "5. interpreter flags";
    if (pass == "native") return "native C++";
    return pass;
}

} // namespace memopt::reports::study::paper
