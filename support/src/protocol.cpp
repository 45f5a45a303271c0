#include "polc/support/protocol.h"

#include <netinet/in.h>

namespace polc {

namespace {
struct NamedProtocol {
  uint8_t number;
  std::string_view name;
};
constexpr NamedProtocol kProtocols[] = {{0, "any"},
                                        {IPPROTO_TCP, "tcp"},
                                        {IPPROTO_UDP, "udp"},
                                        {IPPROTO_SCTP, "sctp"},
                                        {IPPROTO_ICMP, "icmp"},
                                        {IPPROTO_ICMPV6, "icmpv6"}};
} // namespace

std::string protocolName(uint8_t protocol) {
  for (const auto& p : kProtocols)
    if (p.number == protocol) return std::string(p.name);
  return std::to_string(protocol);
}

std::optional<uint8_t> protocolFromName(std::string_view name) {
  for (const auto& p : kProtocols)
    if (p.name == name) return p.number;
  return std::nullopt;
}

} // namespace polc
