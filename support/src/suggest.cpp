#include "polc/support/suggest.h"

#include <algorithm>

namespace polc {

namespace {
constexpr size_t kLongestSuggestable = 256;
} // namespace

size_t editDistance(std::string_view a, std::string_view b) {
  // Three rows suffice for adjacent transpositions.
  std::vector<size_t> before(b.size() + 1), previous(b.size() + 1), current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        current[j] = std::min(current[j], before[j - 2] + 1);
    }
    std::swap(before, previous);
    std::swap(previous, current);
  }
  return previous[b.size()];
}

std::optional<std::string> closestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates,
                                        std::optional<size_t> maxDistance) {
  std::optional<std::string> best;
  // Nobody misspells a 256-character name; spare the quadratic work (the
  // fuzzers feed huge words).
  if (word.size() > kLongestSuggestable) return best;
  size_t limit = maxDistance.value_or(std::max<size_t>(1, word.size() / 3));
  size_t bestDistance = limit + 1;
  for (const auto& candidate : candidates) {
    if (candidate == word) continue;
    size_t distance = editDistance(word, candidate);
    // Replacing every character is no typo ("a" is not a misspelt "b").
    if (distance < bestDistance && distance < std::max(word.size(), candidate.size())) {
      bestDistance = distance;
      best = candidate;
    }
  }
  return best;
}

} // namespace polc
