// The topology model: what the cluster looks like (nodes, endpoints), read
// from YAML by loadTopology(). Addresses are validated and kept as text.
#pragma once

#include "polc/support/source_location.h"

#include <map>
#include <string>
#include <vector>

namespace polc::topology {

using Labels = std::map<std::string, std::string>;

struct Endpoint {
  std::string name;
  std::string node; // owning node's name
  Labels labels;
  std::vector<std::string> addresses; // IPv4 and IPv6 host addresses, canonical text
  std::string interface;              // host-side interface name, at most 15 characters
  SourceLocation location;
};

struct Node {
  std::string name;
  std::string address;
  std::vector<Endpoint> endpoints; // in file order
  SourceLocation location;
};

struct Topology {
  std::string cluster;
  std::vector<Node> nodes; // in file order
  std::string file;

  // Every endpoint of the cluster, in file order.
  std::vector<const Endpoint*> allEndpoints() const;
};

} // namespace polc::topology
