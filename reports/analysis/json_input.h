#pragma once
// JSON files memopt did not write itself (baselines, profiles, summaries) are read here:
// a regular file only (common/input_file.h), at most `max_bytes`, nested at most
// `max_depth`, and a parse that runs out of memory is an input error, not a crash.
// Every failure is one memopt::Error naming the file.
#include <cstddef>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string_view>

namespace memopt::reports {

// A parsed JSON document takes up to ~25x its text in memory (832 MB for 32 MiB of tiny
// objects); 16 MiB is ten times a profile of a program importing sklearn (1.7 MB) and
// hundreds of times a summary, and keeps the worst case near 420 MB.
inline constexpr std::size_t kMaxJsonInputBytes = 16u << 20;
inline constexpr std::size_t kMaxJsonDepth = 256;

// `what` names the input in messages ("baseline b.json").
nlohmann::json parse_bounded_json(std::string_view text, std::string_view what,
                                  std::size_t max_bytes = kMaxJsonInputBytes,
                                  std::size_t max_depth = kMaxJsonDepth);

// InputFile + read_all(max_bytes) + parse_bounded_json. `kind` says what the file should be
// ("a memopt profile or summary") in the size message.
nlohmann::json read_json_file(const std::filesystem::path& path, std::string_view kind,
                              std::size_t max_bytes = kMaxJsonInputBytes);

} // namespace memopt::reports
