// The policy IR: policy with every name resolved. Selectors have become
// sets of security identities; every endpoint knows which rules apply to it
// in each direction. Everything is sorted, so output built from it is
// deterministic.
#pragma once

#include "polc/frontend/ast.h"
#include "polc/topology/topology.h"

#include <cstdint>
#include <string>
#include <vector>

namespace polc::ir {

using Labels = topology::Labels;

struct Identity {
  uint32_t id = 0;
  Labels labels;
};

struct Rule {
  uint32_t id = 0; // position among all rules of the policy set, in source order
  std::string policy;
  ast::Verdict verdict = ast::Verdict::Allow;
  ast::Direction direction = ast::Direction::Ingress;
  std::vector<uint32_t> peers;       // identities the peer selector matches, sorted
  std::vector<ast::PortRange> ports; // empty: every protocol and port
  std::string text;                  // canonical text of the rule
  SourceLocation location;
};

struct DirectionPolicy {
  bool isolated = false;
  std::vector<uint32_t> rules; // ids of the rules that apply, ascending
};

struct Endpoint {
  std::string name;
  std::string node;
  std::string interface;
  uint32_t identity = 0;
  std::vector<std::string> addresses;
  DirectionPolicy ingress;
  DirectionPolicy egress;

  const DirectionPolicy& policy(ast::Direction d) const {
    return d == ast::Direction::Ingress ? ingress : egress;
  }
};

struct Node {
  std::string name;
  std::string address;
  std::vector<std::string> endpoints; // names, sorted
};

struct Program {
  std::string cluster;
  std::vector<Identity> identities; // sorted by id
  std::vector<Rule> rules;          // indexed by id
  std::vector<Endpoint> endpoints;  // sorted by name
  std::vector<Node> nodes;          // sorted by name

  const Identity* findIdentity(uint32_t id) const;
  const Endpoint* findEndpoint(std::string_view name) const;
};

} // namespace polc::ir
