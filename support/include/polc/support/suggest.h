// "Did you mean ...?" for misspelt names: the closest candidate by edit
// distance, when it is close enough to be a likely typo.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace polc {

// Optimal string alignment distance (insertions, deletions, substitutions,
// transpositions of neighbours).
size_t editDistance(std::string_view a, std::string_view b);

// The candidate nearest to `word` within `maxDistance` edits (default:
// about a third of its length, at least 1), ties broken by candidate order;
// nothing if none is.
std::optional<std::string> closestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates,
                                        std::optional<size_t> maxDistance = std::nullopt);

} // namespace polc
