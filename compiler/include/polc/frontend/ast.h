// The parsed policy files, before any name or label is resolved.
#pragma once

#include "polc/support/ip_prefix.h"
#include "polc/support/source_location.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace polc::ast {

enum class Direction { Ingress, Egress };
enum class Verdict { Allow, Deny };

// Where a construct is in the source, and how many characters it covers
// (for underlining in diagnostics).
struct Span {
  SourceLocation location;
  int length = 1;
};

struct Selector {
  enum class Kind { Any, Equal, NotEqual, In, NotIn, Has, NotHas, And, Or, Not, LetReference };
  Kind kind = Kind::Any;
  std::string key;                 // Equal..NotHas: the label key; LetReference: the let name
  std::vector<std::string> values; // Equal/NotEqual: one; In/NotIn: the set
  std::vector<std::shared_ptr<const Selector>> operands; // And/Or: two; Not: one
  SourceLocation location;
  int length = 1; // characters covered at location, for underlining
  // Where the key and each value are, for did-you-mean hints on misspellings.
  Span keySpan;
  std::vector<Span> valueSpans;
};
using SelectorPtr = std::shared_ptr<const Selector>;

// One entry of a rule's `on` list.
//  - tcp/udp/sctp: an inclusive port range [first, last]; the whole
//    protocol (`tcp`) is [0, 65535]; a named port (`tcp/http`) has
//    `namedPort` set and is resolved per destination endpoint by sema.
//  - icmp/icmpv6: `icmpType`/`icmpCode` when given; neither = every type.
struct PortSpec {
  uint8_t protocol = 0; // IPPROTO_TCP, _UDP, _SCTP, _ICMP, _ICMPV6
  uint16_t first = 0;
  uint16_t last = 65535;
  std::string namedPort;
  std::optional<uint8_t> icmpType;
  std::optional<uint8_t> icmpCode;
  SourceLocation location;
  int length = 1;
};

enum class Entity { World, Host, Cluster, All };

struct CidrPeer {
  std::vector<std::pair<IpPrefix, Span>> prefixes;
  std::vector<std::pair<IpPrefix, Span>> except; // each must lie inside one of `prefixes`
};

struct Peer {
  enum class Kind { Selector, Service, Cidr, Group, Entity };
  Kind kind = Kind::Selector;
  SelectorPtr selector; // Selector
  std::string name;     // Service, Group: the quoted name
  CidrPeer cidr;        // Cidr
  Entity entity = Entity::All;
  SourceLocation location;
  int length = 1;
};

struct Rule {
  Verdict verdict = Verdict::Allow;
  Direction direction = Direction::Ingress;
  Peer peer;
  std::vector<PortSpec> ports; // empty: every protocol and port
  SourceLocation location;
  int length = 1;
};

struct DirectionBlock {
  Direction direction = Direction::Ingress;
  std::vector<Rule> rules;
  SourceLocation location;
};

struct Policy {
  std::string name;
  // `audit policy "x" { ... }`: judged and reported, never enforced: what it
  // alone would deny passes with verdict audit (docs/language.md, Audit).
  bool audit = false;
  SelectorPtr select;
  std::vector<DirectionBlock> blocks;
  SourceLocation location;
};

struct Let {
  std::string name;
  SelectorPtr selector;
  SourceLocation location;
};

// `default deny ingress, egress [for SELECTOR]`: isolates the directions of
// every endpoint the selector matches (every endpoint without `for`).
struct DefaultDeny {
  std::vector<Direction> directions;
  SelectorPtr selector; // null: every endpoint
  SourceLocation location;
};

// A parsed policy set: the root file with every included file merged in
// (each file once, in include order). Items keep their own locations.
struct File {
  std::string path;                  // the root file
  std::vector<std::string> files;    // every file read, root first, include order
  std::vector<Let> lets;             // in file order
  std::vector<Policy> policies;      // in file order
  std::vector<DefaultDeny> defaults; // in file order
};

std::string_view toString(Direction);
std::string_view toString(Verdict);
std::string_view toString(Entity);

} // namespace polc::ast
