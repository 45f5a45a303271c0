#include "polc/passes/tables.h"

#include "polc_structs.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace polc::passes {

using artifacts::PolicyEntry;
using artifacts::Verdict;

namespace {

// Does `broad` match every packet `narrow` matches (same peer identity)?
bool covers(const PolicyEntry& broad, const PolicyEntry& narrow) {
  if (broad.protocol == 0) return true;
  if (broad.protocol != narrow.protocol || broad.portPrefixBits > narrow.portPrefixBits)
    return false;
  if (broad.portPrefixBits == 0) return true;
  uint16_t mask = uint16_t(0xffff << (16 - broad.portPrefixBits));
  return (broad.port & mask) == (narrow.port & mask);
}

std::vector<PolicyEntry> entriesOf(const ir::AppliedRule& applied, ast::Verdict ruleVerdict) {
  std::vector<PolicyEntry> entries;
  Verdict verdict = ruleVerdict == ast::Verdict::Allow ? Verdict::Allow : Verdict::Deny;
  for (uint32_t peer : applied.peers) {
    if (applied.ports.empty()) {
      entries.push_back({peer, 0, 0, 0, verdict, applied.rule});
      continue;
    }
    for (const auto& range : applied.ports) {
      if (range.protocol == 0) {
        entries.push_back({peer, 0, 0, 0, verdict, applied.rule});
        continue;
      }
      for (const auto& prefix : portRangeToPrefixes(range.first, range.last))
        entries.push_back({peer, range.protocol, prefix.port, prefix.bits, verdict, applied.rule});
    }
  }
  return entries;
}

// Keeps, per key, one entry: a deny over an allow, then the lowest rule id.
std::vector<PolicyEntry> mergeSameKey(std::vector<PolicyEntry> entries) {
  auto key = [](const PolicyEntry& e) {
    return std::tuple(e.identity, e.protocol, e.port, e.portPrefixBits);
  };
  std::sort(entries.begin(), entries.end(), [&](const auto& a, const auto& b) {
    // Deny (2) sorts before Allow (1) within a key.
    return std::tuple(key(a), -int(a.verdict), a.ruleId) <
           std::tuple(key(b), -int(b.verdict), b.ruleId);
  });
  entries.erase(std::unique(entries.begin(), entries.end(),
                            [&](const auto& a, const auto& b) { return key(a) == key(b); }),
                entries.end());
  return entries;
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

} // namespace

artifacts::PolicyTable buildPolicyTable(const ir::Program& program, const ir::Endpoint& endpoint,
                                        ast::Direction direction) {
  const auto& policy = endpoint.policy(direction);
  artifacts::PolicyTable table;
  table.endpoint = endpoint.name;
  table.direction = direction == ast::Direction::Ingress ? artifacts::Direction::Ingress
                                                         : artifacts::Direction::Egress;
  table.isolated = policy.isolated;
  std::vector<PolicyEntry> entries;
  for (const auto& applied : policy.rules) {
    const auto& rule = program.rules.at(applied.rule);
    auto ruleEntries = entriesOf(applied, rule.verdict);
    entries.insert(entries.end(), ruleEntries.begin(), ruleEntries.end());
    if (table.rules.empty() || table.rules.back().id != rule.id)
      table.rules.push_back({rule.id, rule.policy, rule.text, rule.location.str()});
  }
  table.entries = resolvePrecedence(mergeSameKey(std::move(entries)));
  std::sort(table.entries.begin(), table.entries.end());
  return table;
}

artifacts::Ipcache buildIpcache(const ir::Program& program, const std::string& nodeName) {
  artifacts::Ipcache ipcache;
  auto add = [&](const IpPrefix& prefix, uint32_t identity) {
    ipcache.entries.push_back({prefix.family, prefix.addressText(), prefix.length, identity});
  };
  for (const auto& endpoint : program.endpoints)
    for (const auto& address : endpoint.addresses) add(address, endpoint.identity);
  for (const auto& node : program.nodes)
    if (node.address)
      add(*node.address, node.name == nodeName ? POLC_IDENTITY_HOST : POLC_IDENTITY_REMOTE_NODE);
  for (const auto& identity : program.identities)
    if (identity.prefix) add(*identity.prefix, identity.id);
  std::sort(ipcache.entries.begin(), ipcache.entries.end());
  return ipcache;
}

std::vector<NodeTables> buildAllTables(const ir::Program& program) {
  std::vector<NodeTables> nodes;
  for (const auto& node : program.nodes) {
    NodeTables tables{node.name, buildIpcache(program, node.name), {}};
    for (const auto& name : node.endpoints) {
      const auto& endpoint = *program.findEndpoint(name);
      tables.endpoints.push_back({endpoint.name,
                                  buildPolicyTable(program, endpoint, ast::Direction::Ingress),
                                  buildPolicyTable(program, endpoint, ast::Direction::Egress)});
    }
    nodes.push_back(std::move(tables));
  }
  return nodes;
}

} // namespace polc::passes
