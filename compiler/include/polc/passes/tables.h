// Lowering of the IR into the tables the datapath looks up: the steps of
// the build-tables pass (policy_tables.h), each in its own file, public for
// tests and the differential tester.
#pragma once

#include "polc/artifacts/tables.h"
#include "polc/ir/ir.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace polc::passes {

struct PortPrefix {
  uint16_t port = 0; // the prefix's first port
  uint8_t bits = 16; // significant leading bits
  bool operator==(const PortPrefix&) const = default;
};

// Step: the fewest aligned prefixes whose union is exactly [first, last]
// (at most 30 for any range), so ranges never expand into one entry per port.
std::vector<PortPrefix> portRangeToPrefixes(uint16_t first, uint16_t last);

// Step, for a direction the enforcing policies isolate: an audit entry
// there audits only what an allow entry lets through (elsewhere the default
// deny drops it), so each audit entry becomes its intersections with the
// allow entries. Quadratic in (audit entries x allow entries): audit
// policies are expected to be few next to the enforcing ones.
std::vector<artifacts::PolicyEntry> clipAuditEntries(std::vector<artifacts::PolicyEntry>);
// Step: keeps one entry per key (peer, protocol, port prefix): a deny over
// an audit over an allow (artifacts::precedence), then the lowest rule id. Returns the entries
// sorted by key, the wildcard peer first.
std::vector<artifacts::PolicyEntry> mergeSameKey(std::vector<artifacts::PolicyEntry>);

// Step: resolves verdict precedence at compile time for the datapath's
// two longest-prefix lookups (peer, wildcard; the higher precedence of the
// two wins): drops entries nested inside an entry of higher precedence of
// their peer or of the wildcard, and entries nested inside a broader entry
// of the same peer and verdict. Needs the order mergeSameKey gives.
std::vector<artifacts::PolicyEntry> resolvePrecedence(const std::vector<artifacts::PolicyEntry>&);

// Every identity a packet's peer can have (all of the program's but
// UNKNOWN), sorted: the set a wildcard entry stands for.
std::vector<uint32_t> peerUniverse(const ir::Program&);

// Step: a key that every identity of `universe` has with the same verdict
// becomes one wildcard entry (e.g. `entity cluster` and `entity world` on the
// same port). Input and output in mergeSameKey's order; run precedence after.
std::vector<artifacts::PolicyEntry> foldWildcards(std::vector<artifacts::PolicyEntry>,
                                                  const std::vector<uint32_t>& universe);

// Step: one endpoint's table for one direction: the entries of its applied
// rules (port ranges as prefixes), merged, precedence resolved, wildcards
// folded (see docs/datapath.md).
artifacts::PolicyTable buildPolicyTable(const ir::Program&, const ir::Endpoint&, ast::Direction,
                                        const std::vector<uint32_t>& universe);
// The same, computing peerUniverse() itself (for one-off tables).
artifacts::PolicyTable buildPolicyTable(const ir::Program&, const ir::Endpoint&, ast::Direction);

// Step: the ipcache of one node: every endpoint address of the cluster, the
// node's own address as the host identity and other nodes' as remote-node,
// and every prefix identity (CIDRs of policy, service addresses).
artifacts::Ipcache buildIpcache(const ir::Program&, const std::string& node);

// Every table of one endpoint. Endpoints with the same policy for a
// direction (the replicas of a deployment) share one table: it is built
// once, and written once (tables/<sha256>.json).
struct EndpointTables {
  std::string endpoint;
  std::shared_ptr<const artifacts::PolicyTable> ingress;
  std::shared_ptr<const artifacts::PolicyTable> egress;

  const artifacts::PolicyTable& table(ast::Direction d) const {
    return d == ast::Direction::Ingress ? *ingress : *egress;
  }
};

// Every table of one node: its ipcache and its endpoints' tables.
struct NodeTables {
  std::string node;
  artifacts::Ipcache ipcache;
  std::vector<EndpointTables> endpoints; // sorted by name
};

// The pipeline's hand-off after build-tables (policy_tables.h).
struct Tables {
  std::vector<NodeTables> nodes; // sorted by name
};

// Every table of the program, built once (for the capacity check,
// statistics and the build alike), nodes sorted by name.
std::vector<NodeTables> buildAllTables(const ir::Program&);

} // namespace polc::passes
