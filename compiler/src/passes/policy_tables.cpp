#include "polc/passes/policy_tables.h"

#include "polc/passes/tables.h"

#include "polc_structs.h"

#include <algorithm>
#include <memory>
#include <unordered_map>

namespace polc::passes {

using artifacts::PolicyEntry;
using artifacts::Verdict;

namespace {

std::vector<PolicyEntry> entriesOf(const ir::AppliedRule& applied, const ir::Rule& rule) {
  std::vector<PolicyEntry> entries;
  Verdict verdict = rule.verdict == ast::Verdict::Allow ? Verdict::Allow
                    : rule.audit                        ? Verdict::Audit
                                                        : Verdict::Deny;
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

} // namespace

artifacts::PolicyTable buildPolicyTable(const ir::Program& program, const ir::Endpoint& endpoint,
                                        ast::Direction direction) {
  return buildPolicyTable(program, endpoint, direction, peerUniverse(program));
}

artifacts::PolicyTable buildPolicyTable(const ir::Program& program, const ir::Endpoint& endpoint,
                                        ast::Direction direction,
                                        const std::vector<uint32_t>& universe) {
  const auto& policy = endpoint.policy(direction);
  artifacts::PolicyTable table;
  table.isolated = policy.isolated;
  table.auditIsolated = policy.auditIsolated;
  std::vector<PolicyEntry> entries;
  bool anyAudit = false;
  for (const auto& applied : policy.rules) {
    const auto& rule = program.rules.at(applied.rule);
    // Audit allows take no part where enforcing policies isolate (evaluator.h).
    if (rule.audit && rule.verdict == ast::Verdict::Allow && policy.isolated) continue;
    anyAudit = anyAudit || rule.audit;
    auto ruleEntries = entriesOf(applied, rule);
    entries.insert(entries.end(), ruleEntries.begin(), ruleEntries.end());
  }
  if (anyAudit && policy.isolated) entries = clipAuditEntries(std::move(entries));
  // Precedence again after folding: a folded deny may now cover allows of
  // the wildcard peer (see fold_wildcards.cpp).
  auto resolved = resolvePrecedence(mergeSameKey(std::move(entries)));
  table.entries = resolvePrecedence(foldWildcards(std::move(resolved), universe));
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
  const auto universe = peerUniverse(program);
  // Every node's ipcache is the same but for its own address (host, not
  // remote-node): built once and patched per node. Addresses are unique in
  // a topology, so the patch keeps the order.
  const auto clusterIpcache = buildIpcache(program, std::string());
  // Each distinct table once, whichever endpoints and directions share it.
  std::unordered_map<std::string, std::shared_ptr<const artifacts::PolicyTable>> built;
  std::vector<NodeTables> nodes;
  for (const auto& node : program.nodes) {
    NodeTables tables{node.name, clusterIpcache, {}};
    if (node.address) {
      auto address = node.address->addressText();
      for (auto& entry : tables.ipcache.entries)
        if (entry.identity == POLC_IDENTITY_REMOTE_NODE && entry.address == address &&
            entry.prefixLength == node.address->length)
          entry.identity = POLC_IDENTITY_HOST;
    }
    for (const auto& name : node.endpoints) {
      const auto& endpoint = *program.findEndpoint(name);
      auto shared = [&](ast::Direction direction) {
        auto& table = built[endpoint.policy(direction).behaviourKey()];
        if (!table)
          table = std::make_shared<const artifacts::PolicyTable>(
              buildPolicyTable(program, endpoint, direction, universe));
        return table;
      };
      tables.endpoints.push_back(
          {endpoint.name, shared(ast::Direction::Ingress), shared(ast::Direction::Egress)});
    }
    nodes.push_back(std::move(tables));
  }
  return nodes;
}

pipeline::Pass createBuildTablesPass() {
  using namespace pipeline;
  return makePass<ir::Program>(
      "build-tables", "a policy table per endpoint and direction, an ipcache per node",
      {stage<Tables>()}, [](PassContext& context, const ir::Program& program) {
        context.put(Tables{buildAllTables(program)});
      });
}

} // namespace polc::passes
