#include "polc/passes/tables.h"

#include "polc_structs.h"

namespace polc::passes {

using artifacts::PolicyEntry;
using artifacts::Verdict;

// Does `broad` match every packet `narrow` matches (same peer identity)?
bool covers(const PolicyEntry& broad, const PolicyEntry& narrow) {
  if (broad.protocol == 0) return true;
  if (broad.protocol != narrow.protocol || broad.portPrefixBits > narrow.portPrefixBits)
    return false;
  if (broad.portPrefixBits == 0) return true;
  uint16_t mask = uint16_t(0xffff << (16 - broad.portPrefixBits));
  return (broad.port & mask) == (narrow.port & mask);
}

// The datapath returns the longest match per identity lookup and lets a deny
// from either lookup win. So an allow nested inside a deny of the same peer
// (or of the wildcard peer) would wrongly win: drop it. An entry nested
// inside a broader entry of the same verdict and peer adds nothing: drop it.
// `entries` is sorted by identity (mergeSameKey), so an entry is compared
// only with its own peer's entries and the wildcard's: large tables (many
// peers) stay fast instead of quadratic in the whole table.
std::vector<PolicyEntry> resolvePrecedence(const std::vector<PolicyEntry>& entries) {
  auto samePeerEnd = [&](size_t begin) {
    size_t end = begin;
    while (end < entries.size() && entries[end].identity == entries[begin].identity) ++end;
    return end;
  };
  // The wildcard peer (0) sorts first.
  size_t wildcardEnd =
      !entries.empty() && entries.front().identity == POLC_IDENTITY_ANY ? samePeerEnd(0) : 0;
  std::vector<PolicyEntry> kept;
  for (size_t groupBegin = 0; groupBegin < entries.size();) {
    size_t groupEnd = samePeerEnd(groupBegin);
    for (size_t i = groupBegin; i < groupEnd; ++i) {
      const auto& entry = entries[i];
      bool redundant = false;
      for (size_t j = groupBegin; j < groupEnd && !redundant; ++j) {
        const auto& other = entries[j];
        if (j == i || !covers(other, entry)) continue;
        if (entry.verdict == Verdict::Allow && other.verdict == Verdict::Deny)
          redundant = true;
        else if (other.verdict == entry.verdict && !covers(entry, other))
          redundant = true; // strictly broader, same verdict
      }
      if (entry.verdict == Verdict::Allow && groupBegin >= wildcardEnd)
        for (size_t j = 0; j < wildcardEnd && !redundant; ++j)
          redundant = entries[j].verdict == Verdict::Deny && covers(entries[j], entry);
      if (!redundant) kept.push_back(entry);
    }
    groupBegin = groupEnd;
  }
  return kept;
}

} // namespace polc::passes
