#include "polc/passes/tables.h"

#include "polc_structs.h"

#include <optional>

namespace polc::passes {

using artifacts::PolicyEntry;

namespace {

uint16_t prefixMask(uint8_t bits) {
  return bits == 0 ? 0 : uint16_t(0xffff << (16 - bits));
}

// The packets both entries match, as one entry (peer, protocol and port
// prefixes nest or are disjoint), carrying `audit`'s verdict and rule.
std::optional<PolicyEntry> intersection(const PolicyEntry& allow, const PolicyEntry& audit) {
  PolicyEntry both = audit;
  if (allow.identity != POLC_IDENTITY_ANY) {
    if (audit.identity != POLC_IDENTITY_ANY && audit.identity != allow.identity)
      return std::nullopt;
    both.identity = allow.identity;
  }
  if (allow.protocol == 0) return both;
  if (audit.protocol != 0 && audit.protocol != allow.protocol) return std::nullopt;
  const PolicyEntry& narrow =
      audit.protocol == 0 || allow.portPrefixBits > audit.portPrefixBits ? allow : audit;
  const PolicyEntry& broad = &narrow == &allow ? audit : allow;
  if (broad.protocol != 0 && (narrow.port & prefixMask(broad.portPrefixBits)) != broad.port)
    return std::nullopt;
  both.protocol = narrow.protocol;
  both.port = narrow.port;
  both.portPrefixBits = narrow.portPrefixBits;
  return both;
}

} // namespace

std::vector<PolicyEntry> clipAuditEntries(std::vector<PolicyEntry> entries) {
  std::vector<PolicyEntry> kept, allows, audits;
  for (auto& entry : entries) {
    if (entry.verdict == artifacts::Verdict::Audit)
      audits.push_back(entry);
    else {
      if (entry.verdict == artifacts::Verdict::Allow) allows.push_back(entry);
      kept.push_back(entry);
    }
  }
  for (const auto& audit : audits)
    for (const auto& allow : allows)
      if (auto both = intersection(allow, audit)) kept.push_back(*both);
  return kept;
}

} // namespace polc::passes
