#include "polc/passes/tables.h"

#include "polc_structs.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace polc::passes {

using artifacts::PolicyEntry;

std::vector<uint32_t> peerUniverse(const ir::Program& program) {
  std::vector<uint32_t> universe;
  for (const auto& identity : program.identities)
    if (identity.id != POLC_IDENTITY_UNKNOWN) universe.push_back(identity.id);
  return universe; // sorted: program.identities is
}

// Why this is sound: the datapath looks up the peer's identity and the
// wildcard and lets a deny from either win. After precedence, no allow
// is nested inside a deny of its own peer or of the wildcard; so moving a
// key that every identity has with the same verdict into the wildcard gives
// every identity the same verdict as before, provided precedence runs again
// afterwards (a folded deny now shadows the wildcard's narrower allows).
// UNKNOWN is no peer: the ipcache never yields it (a miss is WORLD).
std::vector<PolicyEntry> foldWildcards(std::vector<PolicyEntry> entries,
                                       const std::vector<uint32_t>& universe) {
  using Key = std::tuple<uint8_t, uint16_t, uint8_t, artifacts::Verdict>;
  std::map<Key, std::vector<uint32_t>> identitiesByKey;
  for (const auto& entry : entries)
    if (entry.identity != POLC_IDENTITY_ANY)
      identitiesByKey[{entry.protocol, entry.port, entry.portPrefixBits, entry.verdict}].push_back(
          entry.identity);
  std::map<Key, uint32_t> folded; // key -> the lowest rule id among its entries
  for (auto& [key, identities] : identitiesByKey) {
    std::sort(identities.begin(), identities.end());
    if (std::includes(identities.begin(), identities.end(), universe.begin(), universe.end()))
      folded[key] = UINT32_MAX;
  }
  if (folded.empty()) return entries;

  std::vector<PolicyEntry> kept;
  for (const auto& entry : entries) {
    auto found = folded.find({entry.protocol, entry.port, entry.portPrefixBits, entry.verdict});
    if (entry.identity == POLC_IDENTITY_ANY || found == folded.end()) {
      kept.push_back(entry);
      continue;
    }
    found->second = std::min(found->second, entry.ruleId);
  }
  for (const auto& [key, ruleId] : folded) {
    auto [protocol, port, bits, verdict] = key;
    kept.push_back({POLC_IDENTITY_ANY, protocol, port, bits, verdict, ruleId});
  }
  // The wildcard may now hold the same key twice: merge as before.
  return mergeSameKey(std::move(kept));
}

} // namespace polc::passes
