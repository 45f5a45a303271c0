// What polc diff and polc graph share inside the evaluator (not a public
// interface): the protocols a pair of ends can carry, where a side's rules
// cut the port space, and how a range of it reads.
#pragma once

#include "polc/ir/ir.h"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace polc::evaluator {

// Stands for every protocol that no rule can name with ports (GRE, ESP, ...):
// only port-less rules match it. IANA reserves 255, so no rule names it.
inline constexpr uint8_t kOtherProtocols = 255;

struct Families {
  bool v4 = false;
  bool v6 = false;
  auto operator<=>(const Families&) const = default;
};

struct ProtocolSpace {
  uint8_t protocol;
  uint16_t first, last; // the values worth comparing
};

// The protocols two ends of these address families can carry, with the
// values worth judging: tcp, udp, sctp (ports 1-65535), icmp when both have
// IPv4, icmpv6 when both have IPv6, and the other protocols (one value).
std::vector<ProtocolSpace> protocolSpaces(const Families& a, const Families& b);

// Where a rule's range of this protocol starts or stops matching, for the
// rules of `endpoint`'s `direction` (nothing when endpoint is null).
void addCuts(const ir::Endpoint* endpoint, ast::Direction direction, uint8_t protocol,
             std::set<uint32_t>& cuts);

// "any", "other protocols", "tcp", "tcp/80", "udp/1-52", "icmp type 8", ...
std::string rangeText(uint8_t protocol, uint16_t first, uint16_t last);
// A protocol's name in JSON: "tcp", ..., "other".
std::string protocolJson(uint8_t protocol);
// [{"protocol", "first", "last", "l4"}, ...]
nlohmann::json rangesJson(const std::vector<ir::L4Range>& ranges);

} // namespace polc::evaluator
