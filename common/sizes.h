#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace memopt {

// "24 MB", "1.5GiB", "4096" -> bytes. Accepts B, KiB, MiB, GiB, KB, MB, GB (case-insensitive
// units, optional space). Throws memopt::Error naming the text on anything else.
std::uint64_t parse_size(std::string_view text);

// 80000000 -> "76.3 MiB"; picks the largest binary unit that keeps the number >= 1.
std::string format_size(double bytes);

// Megabytes as the paper counts them (10^6 bytes), one decimal: "92.8 MB".
std::string format_mb(double bytes);

} // namespace memopt
