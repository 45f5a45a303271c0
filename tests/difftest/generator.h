// Random policy sets and topologies for the differential tests, as the
// text a person would write (.pol and YAML), so that they go through the
// real frontend, topology loader and sema. Everything follows from the
// seed: the same seed gives the same texts on every machine.
#pragma once

#include <cstdint>
#include <string>

namespace polc::difftest {

struct GeneratedCase {
  uint64_t seed = 0;
  std::string policy;   // .pol text
  std::string topology; // YAML text
};

// A small cluster (a few nodes, namespaces with labels, endpoints with label
// sets drawn from small alphabets so that selectors collide, IPv4 and IPv6
// addresses, named ports, services, CIDR groups) and a policy set that uses
// every construct of the language: all selector operators, let, default
// deny, allow and deny, every peer kind and every port form.
GeneratedCase generateCase(uint64_t seed);

} // namespace polc::difftest
