// Part of the lowering pass: a rule as it applies to one selected endpoint,
// with its ports resolved: ICMP types as ranges, named ports from the
// destination endpoint(s), service ports (internal to sema).
#pragma once

#include "polc/diagnostics/diagnostics.h"
#include "polc/frontend/ast.h"
#include "polc/ir/ir.h"
#include "polc/topology/topology.h"

#include <memory>
#include <vector>

namespace polc::sema {

class RuleLowering {
public:
  RuleLowering(const topology::Topology& topology, const std::vector<ir::Identity>& identities,
               Diagnostics& diagnostics);
  ~RuleLowering();
  // The applied forms of rule `id` for the selected endpoint, given the
  // rule's resolved peers; none when it reaches no port of it.
  std::vector<ir::AppliedRule> apply(uint32_t id, const ast::Rule& rule,
                                     const std::vector<uint32_t>& peers,
                                     const topology::Endpoint& selected);
  // Warns about named ports of `rule` that resolved on no endpoint.
  void warnUnresolved(const ast::Rule& rule);

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace polc::sema
