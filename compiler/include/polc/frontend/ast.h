// The parsed policy file, before any name or label is resolved.
#pragma once

#include "polc/support/source_location.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace polc::ast {

enum class Direction { Ingress, Egress };
enum class Verdict { Allow, Deny };

struct Selector {
  enum class Kind { Any, Equal, NotEqual, In, NotIn, Has, And, Or, Not, LetReference };
  Kind kind = Kind::Any;
  std::string key;                 // Equal..Has: the label key; LetReference: the let name
  std::vector<std::string> values; // Equal/NotEqual: one; In/NotIn: the set
  std::vector<std::shared_ptr<const Selector>> operands; // And/Or: two; Not: one
  SourceLocation location;
  int length = 1; // characters covered at location, for underlining
};
using SelectorPtr = std::shared_ptr<const Selector>;

// A protocol with an inclusive destination port range.
struct PortRange {
  uint8_t protocol = 0; // IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP
  uint16_t first = 0;
  uint16_t last = 0;
  SourceLocation location;
};

struct Rule {
  Verdict verdict = Verdict::Allow;
  Direction direction = Direction::Ingress;
  SelectorPtr peer;
  std::vector<PortRange> ports; // empty: every protocol and port
  SourceLocation location;
};

struct DirectionBlock {
  Direction direction = Direction::Ingress;
  std::vector<Rule> rules;
  SourceLocation location;
};

struct Policy {
  std::string name;
  SelectorPtr select;
  std::vector<DirectionBlock> blocks;
  SourceLocation location;
};

struct Let {
  std::string name;
  SelectorPtr selector;
  SourceLocation location;
};

struct File {
  std::string path;
  std::vector<Let> lets;        // in file order
  std::vector<Policy> policies; // in file order
};

std::string_view toString(Direction);
std::string_view toString(Verdict);

} // namespace polc::ast
