#pragma once
// Sizes in and out: the one unit convention of every report (docs/units.md).
//
// memopt counts as the paper does: kB = 10^3, MB = 10^6, GB = 10^9 bytes. Every renderer
// (text, HTML, the per-step report, optimize, the gate) shows sizes through the functions
// below; the binary units (KiB = 2^10, MiB = 2^20, GiB = 2^30 bytes) are shown beside the
// decimal figure where one is compared with a limit a user may have given in them (the gate,
// the headline peaks of a trace report). Input accepts both kinds, spelled out.
#include <cstdint>
#include <string>
#include <string_view>

namespace memopt {

// How a report says which units it uses.
inline constexpr std::string_view kUnitsNote = "MB = 10^6 bytes, MiB = 2^20 bytes";

// "24 MB", "1.5GiB", "4096" -> bytes. Accepts B, KiB, MiB, GiB, KB, MB, GB (case-insensitive
// units, optional space). Throws memopt::Error naming the text on anything else.
std::uint64_t parse_size(std::string_view text);

// 80000000 -> "80.0 MB", 12600 -> "12.6 kB", 512 -> "512 B": the largest decimal unit that
// keeps the number >= 1, one decimal.
std::string format_size(double bytes);

// 80000000 -> "76.3 MiB": the same in binary units.
std::string format_size_binary(double bytes);

// 80000000 -> "80.0 MB (76.3 MiB)"; below 1 kB just "512 B".
std::string format_size_both(double bytes);

// Bytes as megabytes (10^6): the one division of the project's tables and charts.
inline double to_mb(double bytes) { return bytes / 1e6; }

// Always in MB, for columns and figures compared across runs: "92.8 MB" (decimals 1).
std::string format_mb(double bytes, int decimals = 1);

} // namespace memopt
