// IP protocol names as polc writes them (policy text, tables, summaries).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace polc {

// "tcp", "udp", "sctp", "icmp", "icmpv6"; "any" for 0; the number otherwise.
std::string protocolName(uint8_t protocol);
std::optional<uint8_t> protocolFromName(std::string_view name);

} // namespace polc
