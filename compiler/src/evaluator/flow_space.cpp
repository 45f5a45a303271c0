#include "flow_space.h"

#include "polc/support/protocol.h"

#include <netinet/in.h>
#include <nlohmann/json.hpp>

namespace polc::evaluator {

std::vector<ProtocolSpace> protocolSpaces(const Families& a, const Families& b) {
  bool v4 = a.v4 && b.v4, v6 = a.v6 && b.v6;
  std::vector<ProtocolSpace> spaces;
  if (!v4 && !v6) return spaces;
  // Port 0 is no destination port; ICMP type 0 code 0 is an echo reply.
  for (uint8_t protocol : {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP})
    spaces.push_back({protocol, 1, 65535});
  if (v4) spaces.push_back({IPPROTO_ICMP, 0, 65535});
  if (v6) spaces.push_back({IPPROTO_ICMPV6, 0, 65535});
  spaces.push_back({kOtherProtocols, 0, 0});
  return spaces;
}

void addCuts(const ir::Endpoint* endpoint, ast::Direction direction, uint8_t protocol,
             std::set<uint32_t>& cuts) {
  if (!endpoint) return;
  for (const auto& applied : endpoint->policy(direction).rules)
    for (const auto& range : applied.ports)
      if (range.protocol == protocol) {
        cuts.insert(range.first);
        cuts.insert(uint32_t(range.last) + 1);
      }
}

std::string rangeText(uint8_t protocol, uint16_t first, uint16_t last) {
  if (protocol == 0) return "any";
  if (protocol == kOtherProtocols) return "other protocols";
  auto name = protocolName(protocol);
  if (protocol == IPPROTO_ICMP || protocol == IPPROTO_ICMPV6) {
    if (first == 0 && last == 65535) return name;
    int firstType = first >> 8, lastType = last >> 8;
    int firstCode = first & 0xff, lastCode = last & 0xff;
    if (firstCode == 0 && lastCode == 0xff)
      return name + " type " + std::to_string(firstType) +
             (firstType == lastType ? "" : "-" + std::to_string(lastType));
    if (firstType == lastType)
      return name + " type " + std::to_string(firstType) + " code " + std::to_string(firstCode) +
             (firstCode == lastCode ? "" : "-" + std::to_string(lastCode));
    return name + " type " + std::to_string(firstType) + " code " + std::to_string(firstCode) +
           " to type " + std::to_string(lastType) + " code " + std::to_string(lastCode);
  }
  if (first <= 1 && last == 65535) return name;
  if (first == last) return name + "/" + std::to_string(first);
  return name + "/" + std::to_string(first) + "-" + std::to_string(last);
}

std::string protocolJson(uint8_t protocol) {
  return protocol == kOtherProtocols ? "other" : protocolName(protocol);
}

nlohmann::json rangesJson(const std::vector<ir::L4Range>& ranges) {
  auto list = nlohmann::json::array();
  for (const auto& range : ranges)
    list.push_back({{"protocol", protocolJson(range.protocol)},
                    {"first", range.first},
                    {"last", range.last},
                    {"l4", rangeText(range.protocol, range.first, range.last)}});
  return list;
}

} // namespace polc::evaluator
