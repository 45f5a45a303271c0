// polc lab: builds a topology on this machine out of network namespaces and
// veth pairs, so that policies can be tried with real traffic.
//
// Every node gets a namespace "<prefix>-n-<node>" that plays the node's host
// stack and holds the endpoints' host-side interfaces (named as in the
// topology); every endpoint gets a namespace "<prefix>-e-<endpoint>" with an
// "eth0" whose peer is that interface. With several nodes, every pair of
// node namespaces is joined by a veth ("to-<peer>") with routes to the
// peer's address and endpoints, so cross-node traffic keeps its source
// address (docs/cli.md). Nothing is created in the caller's own network
// namespace, so nothing can clash with the machine's interfaces.
#pragma once

#include "polc/support/expected.h"
#include "polc/topology/topology.h"

#include <string>
#include <vector>

namespace polc::lab {

struct LabOptions {
  std::string prefix = "polc"; // every namespace's name starts with prefix + "-"
};

std::string nodeNamespace(const std::string& prefix, const std::string& node);
std::string endpointNamespace(const std::string& prefix, const std::string& endpoint);

struct LabReport {
  std::vector<std::string> namespaces; // created (up) or removed (down)
};

// Creates the lab; on failure removes what it created before returning.
Expected<LabReport> up(const topology::Topology&, const LabOptions&);
// Removes every namespace named "<prefix>-n-*" or "<prefix>-e-*", also the
// leftovers of a crashed run; needs no topology.
Expected<LabReport> down(const LabOptions&);

} // namespace polc::lab
