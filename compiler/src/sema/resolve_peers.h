// Part of the lowering pass: turns a rule's peer (selector, service, cidr,
// group, entity) into the identities it stands for (internal to sema).
#pragma once

#include "polc/diagnostics/diagnostics.h"
#include "polc/frontend/ast.h"
#include "polc/ir/ir.h"
#include "polc/topology/topology.h"

#include <memory>
#include <vector>

namespace polc::sema {

class PeerResolver {
public:
  PeerResolver(const std::vector<ir::Identity>& identities, const topology::Topology& topology,
               Diagnostics& diagnostics);
  ~PeerResolver();
  // Sorted identities; POLC_IDENTITY_ANY for `entity all`. Warns about
  // selectors that match nothing and CIDRs that contain endpoints.
  std::vector<uint32_t> resolve(const ast::Peer&);

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace polc::sema
