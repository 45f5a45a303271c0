#include "polc/passes/tables.h"

#include "polc_structs.h"

#include <algorithm>

namespace polc::passes {

using artifacts::PolicyEntry;
using artifacts::Verdict;

namespace {

uint16_t prefixMask(uint8_t bits) {
  return bits == 0 ? 0 : uint16_t(0xffff << (16 - bits));
}

// Does `broad` match every packet `narrow` matches (same peer identity)?
bool covers(const PolicyEntry& broad, const PolicyEntry& narrow) {
  if (broad.protocol == 0) return true;
  if (broad.protocol != narrow.protocol || broad.portPrefixBits > narrow.portPrefixBits)
    return false;
  uint16_t mask = prefixMask(broad.portPrefixBits);
  return (broad.port & mask) == (narrow.port & mask);
}

// The entries of one peer, indexed so that the entries covering a given one
// are found with a few binary searches (every protocol, then each prefix
// length in use that is no longer than its own) instead of a scan of the
// peer's whole table.
class CoverIndex {
public:
  CoverIndex(const std::vector<PolicyEntry>& entries, size_t begin, size_t end)
      : entries_(entries) {
    for (size_t i = begin; i < end; ++i) {
      const auto& e = entries[i];
      if (e.protocol == 0) {
        everyProtocol_.push_back(i);
        continue;
      }
      byPrefix_.emplace_back(key(e.protocol, e.portPrefixBits, e.port), i);
      prefixLengths_ |= 1u << e.portPrefixBits;
    }
    std::sort(byPrefix_.begin(), byPrefix_.end());
  }

  // Calls f(j) for every entry j that covers `narrow`, until f returns true;
  // returns whether it did.
  template <typename F> bool anyCovering(const PolicyEntry& narrow, F f) const {
    for (size_t j : everyProtocol_)
      if (f(j)) return true;
    if (narrow.protocol == 0) return false;
    for (uint8_t bits = 0; bits <= narrow.portPrefixBits; ++bits) {
      if (!(prefixLengths_ & (1u << bits))) continue;
      uint32_t wanted = key(narrow.protocol, bits, narrow.port);
      for (auto it = std::lower_bound(byPrefix_.begin(), byPrefix_.end(),
                                      std::pair<uint32_t, size_t>(wanted, 0));
           it != byPrefix_.end() && it->first == wanted; ++it)
        if (covers(entries_[it->second], narrow) && f(it->second)) return true;
    }
    return false;
  }

private:
  // protocol, prefix length and the port's first `bits` bits, in one number.
  static uint32_t key(uint8_t protocol, uint8_t bits, uint16_t port) {
    return uint32_t(protocol) << 24 | uint32_t(bits) << 16 | uint16_t(port & prefixMask(bits));
  }

  const std::vector<PolicyEntry>& entries_;
  std::vector<size_t> everyProtocol_;
  std::vector<std::pair<uint32_t, size_t>> byPrefix_; // sorted
  uint32_t prefixLengths_ = 0;                        // bit b: some entry has b prefix bits
};

} // namespace

// The datapath returns the longest match per identity lookup and lets the
// higher precedence of the two win (deny, audit, allow). So an entry nested
// inside one of higher precedence of the same peer (or of the wildcard
// peer) would wrongly win its lookup: drop it. An entry nested
// inside a broader entry of the same verdict and peer adds nothing: drop it.
// `entries` is sorted by identity (mergeSameKey), so an entry is compared
// only with its own peer's entries and the wildcard's, found through an
// index: large tables stay fast instead of quadratic in a peer's entries.
std::vector<PolicyEntry> resolvePrecedence(const std::vector<PolicyEntry>& entries) {
  auto samePeerEnd = [&](size_t begin) {
    size_t end = begin;
    while (end < entries.size() && entries[end].identity == entries[begin].identity) ++end;
    return end;
  };
  // The wildcard peer (0) sorts first.
  size_t wildcardEnd =
      !entries.empty() && entries.front().identity == POLC_IDENTITY_ANY ? samePeerEnd(0) : 0;
  const CoverIndex wildcard(entries, 0, wildcardEnd);
  std::vector<PolicyEntry> kept;
  for (size_t groupBegin = 0; groupBegin < entries.size();) {
    size_t groupEnd = samePeerEnd(groupBegin);
    const CoverIndex peer(entries, groupBegin, groupEnd);
    for (size_t i = groupBegin; i < groupEnd; ++i) {
      const auto& entry = entries[i];
      bool redundant = peer.anyCovering(entry, [&](size_t j) {
        const auto& other = entries[j];
        if (j == i) return false;
        if (artifacts::precedence(other.verdict) > artifacts::precedence(entry.verdict))
          return true;
        return other.verdict == entry.verdict && !covers(entry, other); // strictly broader
      });
      if (!redundant && entry.verdict != Verdict::Deny && groupBegin >= wildcardEnd)
        redundant = wildcard.anyCovering(entry, [&](size_t j) {
          return artifacts::precedence(entries[j].verdict) > artifacts::precedence(entry.verdict);
        });
      if (!redundant) kept.push_back(entry);
    }
    groupBegin = groupEnd;
  }
  return kept;
}

} // namespace polc::passes
