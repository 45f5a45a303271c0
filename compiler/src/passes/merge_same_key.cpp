#include "polc/passes/tables.h"

#include <algorithm>
#include <tuple>

namespace polc::passes {

using artifacts::PolicyEntry;

// Keeps, per key, one entry: the highest precedence, then the lowest rule id.
std::vector<PolicyEntry> mergeSameKey(std::vector<PolicyEntry> entries) {
  auto key = [](const PolicyEntry& e) {
    return std::tuple(e.identity, e.protocol, e.port, e.portPrefixBits);
  };
  std::sort(entries.begin(), entries.end(), [&](const auto& a, const auto& b) {
    // Deny sorts before audit before allow within a key.
    return std::tuple(key(a), -precedence(a.verdict), a.ruleId) <
           std::tuple(key(b), -precedence(b.verdict), b.ruleId);
  });
  entries.erase(std::unique(entries.begin(), entries.end(),
                            [&](const auto& a, const auto& b) { return key(a) == key(b); }),
                entries.end());
  return entries;
}

} // namespace polc::passes
