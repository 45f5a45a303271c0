// The topology model's queries and the port-range text form, shared by the
// YAML loader, sema and the printers.
#include "polc/topology/topology.h"

#include <netinet/in.h>

#include <algorithm>
#include <charconv>

namespace polc::topology {

std::vector<const Endpoint*> Topology::allEndpoints() const {
  std::vector<const Endpoint*> endpoints;
  for (const auto& node : nodes)
    for (const auto& endpoint : node.endpoints) endpoints.push_back(&endpoint);
  return endpoints;
}

const Service* Topology::findService(std::string_view name) const {
  for (const auto& service : services)
    if (service.name == name) return &service;
  return nullptr;
}

const Group* Topology::findGroup(std::string_view name) const {
  for (const auto& group : groups)
    if (group.name == name) return &group;
  return nullptr;
}

bool Topology::hasFrontends() const {
  return std::any_of(services.begin(), services.end(),
                     [](const Service& service) { return service.vip && !service.ports.empty(); });
}

std::optional<uint16_t>
Service::targetOn(const ServicePort& port,
                  const std::map<std::string, PortRange>& namedPorts) const {
  if (port.targetPort) return port.targetPort;
  if (port.targetName.empty()) return port.port.first;
  auto found = namedPorts.find(port.targetName);
  if (found == namedPorts.end() || found->second.protocol != port.port.protocol)
    return std::nullopt;
  return found->second.first;
}

uint32_t Service::weightOf(const Endpoint& endpoint) const {
  auto found = weights.find(endpoint.name);
  return found == weights.end() ? 1 : found->second;
}

std::vector<const Endpoint*> Topology::backends(const Service& service) const {
  std::vector<const Endpoint*> picked;
  if (service.selector.empty()) return picked; // explicit backends only
  for (const auto* endpoint : allEndpoints()) {
    if (!service.nameSpace.empty() && endpoint->nameSpace != service.nameSpace) continue;
    bool matches = true;
    for (const auto& [key, value] : service.selector) {
      auto label = endpoint->labels.find(key);
      if (label == endpoint->labels.end() || label->second != value) {
        matches = false;
        break;
      }
    }
    if (matches) picked.push_back(endpoint);
  }
  return picked;
}

namespace {

// Only the protocols that have ports.
struct PortProtocol {
  std::string_view name;
  uint8_t number;
};
constexpr PortProtocol kPortProtocols[] = {
    {"tcp", IPPROTO_TCP}, {"udp", IPPROTO_UDP}, {"sctp", IPPROTO_SCTP}};

// A decimal port 1-65535; digits only (no sign, no spaces).
std::optional<uint16_t> parsePort(std::string_view digits, std::string& error) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec == std::errc::invalid_argument || end != digits.data() + digits.size()) {
    error = "'" + std::string(digits) + "' is not a port number";
    return std::nullopt;
  }
  if (ec == std::errc::result_out_of_range || value < 1 || value > 65535) {
    error = "port " + std::string(digits) + " is out of range (1-65535)";
    return std::nullopt;
  }
  return uint16_t(value);
}

} // namespace

std::optional<PortRange> parsePortRange(const std::string& text, std::string* error) {
  std::string message;
  auto fail = [&](std::string why) -> std::optional<PortRange> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  auto slash = text.find('/');
  if (slash == std::string::npos)
    return fail("'" + text + "' is not a port: write protocol/port, e.g. tcp/8080 or udp/53-55");
  std::string_view protocolName(text.data(), slash);
  PortRange range;
  for (const auto& p : kPortProtocols)
    if (p.name == protocolName) range.protocol = p.number;
  if (range.protocol == 0)
    return fail("unknown protocol '" + std::string(protocolName) + "' in '" + text +
                "': ports are tcp, udp or sctp");
  std::string_view ports(text.data() + slash + 1, text.size() - slash - 1);
  auto dash = ports.find('-');
  auto first = parsePort(ports.substr(0, dash), message);
  if (!first) return fail(message + " in '" + text + "'");
  range.first = range.last = *first;
  if (dash != std::string_view::npos) {
    auto last = parsePort(ports.substr(dash + 1), message);
    if (!last) return fail(message + " in '" + text + "'");
    if (*last < *first)
      return fail("the range '" + text + "' ends before it starts: write first-last, low to high");
    range.last = *last;
  }
  return range;
}

std::string toText(const PortRange& range) {
  std::string protocol = std::to_string(range.protocol);
  for (const auto& p : kPortProtocols)
    if (p.number == range.protocol) protocol = p.name;
  std::string text = protocol + "/" + std::to_string(range.first);
  if (range.last != range.first) text += "-" + std::to_string(range.last);
  return text;
}

} // namespace polc::topology
