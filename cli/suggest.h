#pragma once
// Did-you-mean: the nearest of a few known words to a mistyped one, by edit distance.
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace memopt::cli {

// Insertions, deletions, substitutions and swaps of two neighbouring letters, each 1
// ("reprot" -> "report" is 1).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to `word` when it is near enough to be a typo (at most 1 edit for
// words up to 4 letters, 2 up to 8, 3 beyond), the first such on a tie; nullopt otherwise.
std::optional<std::string> nearest(std::string_view word, std::span<const std::string> candidates);

} // namespace memopt::cli
