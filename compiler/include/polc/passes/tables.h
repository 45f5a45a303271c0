// Lowering of the IR into the tables the datapath looks up.
#pragma once

#include "polc/artifacts/tables.h"
#include "polc/ir/ir.h"

#include <cstdint>
#include <vector>

namespace polc::passes {

struct PortPrefix {
  uint16_t port = 0; // the prefix's first port
  uint8_t bits = 16; // significant leading bits
  bool operator==(const PortPrefix&) const = default;
};

// Pass: the fewest aligned prefixes whose union is exactly [first, last]
// (at most 30 for any range), so ranges never expand into one entry per port.
std::vector<PortPrefix> portRangeToPrefixes(uint16_t first, uint16_t last);

// Pass: one endpoint's table for one direction, with deny/allow precedence
// resolved so that the datapath's longest-prefix lookups give the policy's
// verdict (see docs/datapath.md), and entries made redundant by broader
// entries of the same verdict removed.
artifacts::PolicyTable buildPolicyTable(const ir::Program&, const ir::Endpoint&, ast::Direction);

// Pass: the ipcache of one node: every endpoint address of the cluster, the
// node's own address as the host identity and other nodes' as remote-node,
// and every prefix identity (CIDRs of policy, service addresses).
artifacts::Ipcache buildIpcache(const ir::Program&, const std::string& node);

// Every table of one endpoint.
struct EndpointTables {
  std::string endpoint;
  artifacts::PolicyTable ingress;
  artifacts::PolicyTable egress;

  const artifacts::PolicyTable& table(ast::Direction d) const {
    return d == ast::Direction::Ingress ? ingress : egress;
  }
};

// Every table of one node: its ipcache and its endpoints' tables.
struct NodeTables {
  std::string node;
  artifacts::Ipcache ipcache;
  std::vector<EndpointTables> endpoints; // sorted by name
};

// Pass: every table of the program, built once (for the capacity check,
// statistics and the build alike), nodes sorted by name.
std::vector<NodeTables> buildAllTables(const ir::Program&);

} // namespace polc::passes
