#include "polc/services/service_table.h"

#include "polc/support/protocol.h"

#include "polc_structs.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <arpa/inet.h>
#include <cstring>
#include <map>
#include <set>
#include <tuple>

namespace polc::services {

std::string Backend::key() const {
  return address.addressText() + ":" + std::to_string(port);
}

std::string Frontend::text() const {
  if (isEcho()) return vip.addressText() + " " + protocolName(protocol) + " echo";
  return vip.addressText() + " " + topology::toText({protocol, port, port});
}

bool Frontend::isEcho() const {
  return protocol == IPPROTO_ICMP || protocol == IPPROTO_ICMPV6;
}

namespace {

std::optional<IpPrefix> addressOfFamily(const topology::Endpoint& endpoint, uint8_t family) {
  for (const auto& address : endpoint.addresses)
    if (address.family == family) return address;
  return std::nullopt;
}

std::vector<Backend> backendsOf(const topology::Topology& topology,
                                const topology::Service& service, const topology::ServicePort& port,
                                uint16_t number) {
  std::vector<Backend> backends;
  for (const auto& listed : service.backendList)
    backends.push_back({listed.address, port.targetPort.value_or(number), listed.weight, ""});
  for (const auto* endpoint : topology.backends(service)) {
    auto address = addressOfFamily(*endpoint, service.vip->family);
    auto target = port.port.first == port.port.last ? service.targetOn(port, endpoint->namedPorts)
                                                    : std::optional<uint16_t>(number);
    if (!address || !target) continue;
    backends.push_back({*address, *target, service.weightOf(*endpoint), endpoint->name});
  }
  std::sort(backends.begin(), backends.end(), [](const auto& a, const auto& b) {
    return std::tie(a.address, a.port) < std::tie(b.address, b.port);
  });
  return backends;
}

size_t weightedCount(const std::vector<Backend>& backends) {
  return size_t(std::count_if(backends.begin(), backends.end(),
                              [](const Backend& backend) { return backend.weight != 0; }));
}

} // namespace

std::vector<ServiceEntries> countServiceEntries(const topology::Topology& topology) {
  std::vector<ServiceEntries> counts;
  for (const auto& service : topology.services) {
    if (!service.vip) continue;
    ServiceEntries entries{service.name, 0, 0};
    for (const auto& port : service.ports) {
      // Every port of a range has the same backends (its target is itself).
      const size_t ports = size_t(port.port.last) - port.port.first + 1;
      entries.frontends += ports;
      entries.backends +=
          ports * weightedCount(backendsOf(topology, service, port, uint16_t(port.port.first)));
    }
    if (!service.ports.empty()) ++entries.frontends; // echo
    counts.push_back(std::move(entries));
  }
  return counts;
}

ServiceTable buildServiceTable(const topology::Topology& topology) {
  ServiceTable table;
  for (const auto& service : topology.services) {
    if (!service.vip) continue;
    for (const auto& port : service.ports)
      for (uint32_t number = port.port.first; number <= port.port.last; ++number) {
        Frontend frontend;
        frontend.service = service.name;
        frontend.vip = *service.vip;
        frontend.protocol = port.port.protocol;
        frontend.port = uint16_t(number);
        frontend.backends = backendsOf(topology, service, port, uint16_t(number));
        frontend.affinitySeconds = service.affinitySeconds;
        std::vector<MaglevBackend> keyed;
        for (const auto& backend : frontend.backends)
          keyed.push_back({backend.key(), backend.weight});
        frontend.maglev = buildMaglevTable(keyed);
        table.frontends.push_back(std::move(frontend));
      }
  }
  auto sorted = [&] {
    std::sort(table.frontends.begin(), table.frontends.end(), [](const auto& a, const auto& b) {
      return std::tie(a.vip, a.protocol, a.port) < std::tie(b.vip, b.protocol, b.port);
    });
  };
  sorted();
  // Each vip's echo: a copy of its first frontend (the datapath gives
  // both one value, so the same table picks the same backends), its
  // backends without a port.
  std::vector<Frontend> echoes;
  for (size_t i = 0; i < table.frontends.size(); ++i) {
    if (i > 0 && table.frontends[i - 1].vip == table.frontends[i].vip) continue;
    Frontend echo = table.frontends[i];
    echo.protocol = uint8_t(echo.vip.family == 4 ? int(IPPROTO_ICMP) : int(IPPROTO_ICMPV6));
    echo.port = 0;
    for (auto& backend : echo.backends) backend.port = 0;
    echoes.push_back(std::move(echo));
  }
  for (auto& echo : echoes) table.frontends.push_back(std::move(echo));
  sorted();
  return table;
}

const Frontend* ServiceTable::find(const IpPrefix& vip, uint8_t protocol, uint16_t port) const {
  auto it =
      std::lower_bound(frontends.begin(), frontends.end(), std::tie(vip, protocol, port),
                       [](const Frontend& frontend, const auto& key) {
                         return std::tie(frontend.vip, frontend.protocol, frontend.port) < key;
                       });
  if (it == frontends.end() || it->vip != vip || it->protocol != protocol || it->port != port)
    return nullptr;
  return &*it;
}

std::vector<const Frontend*> ServiceTable::ofService(std::string_view name) const {
  std::vector<const Frontend*> found;
  for (const auto& frontend : frontends)
    if (frontend.service == name) found.push_back(&frontend);
  return found;
}

FlowTuple flowTo(const Frontend& frontend, const IpPrefix& client, uint16_t sport) {
  FlowTuple tuple;
  const size_t bytes = client.family == 4 ? 4 : 16;
  std::memcpy(tuple.saddr.data(), client.bytes.data(), bytes);
  std::memcpy(tuple.daddr.data(), frontend.vip.bytes.data(), bytes);
  tuple.sport = htons(sport);
  tuple.dport = htons(frontend.port);
  tuple.protocol = frontend.protocol;
  tuple.family = client.family == 4 ? POLC_FAMILY_IPV4 : POLC_FAMILY_IPV6;
  return tuple;
}

const Backend* pickBackend(const Frontend& frontend, const FlowTuple& flow) {
  if (frontend.maglev.empty()) return nullptr;
  auto slot = pickBackendSlot(flowHash(flow), uint32_t(frontend.maglev.size()));
  return &frontend.backends.at(frontend.maglev[slot]);
}

namespace {

uint32_t fnv1a32(std::string_view text) {
  uint32_t hash = 0x811c9dc5u;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x01000193u;
  }
  return hash;
}

// Stable map ids: the hash of what each one is, the next free one on a
// collision (taken in sorted order, so they depend on the set, not on the
// order of the topology).
template <typename Key> std::map<Key, uint32_t> idsOf(const std::set<Key>& keys, auto text) {
  std::map<Key, uint32_t> ids;
  std::set<uint32_t> taken;
  for (const auto& key : keys) {
    uint32_t id = fnv1a32(text(key));
    while (id == 0 || !taken.insert(id).second) ++id; // 0 is no id (bpf/lib/polc_service.h)
    ids.emplace(key, id);
  }
  return ids;
}

std::string quoted(const std::string& text) {
  return nlohmann::json(text).dump();
}

} // namespace

std::string toJsonText(const ServiceTable& table) {
  auto frontendText = [&](size_t i) {
    const auto& frontend = table.frontends[i];
    return frontend.vip.addressText() + "/" + protocolName(frontend.protocol) + "/" +
           std::to_string(frontend.port);
  };
  std::set<size_t> frontendKeys;                   // indices: table.frontends is sorted
  std::set<std::pair<size_t, size_t>> backendKeys; // (frontend, backend) indices
  std::set<size_t> answersEcho;                    // the first of a vip whose echo the table has
  for (size_t i = 0; i < table.frontends.size(); ++i) {
    const auto& frontend = table.frontends[i];
    if (frontend.isEcho()) continue;
    const bool firstOfVip =
        frontendKeys.empty() || table.frontends[*frontendKeys.rbegin()].vip != frontend.vip;
    if (firstOfVip &&
        table.find(frontend.vip,
                   frontend.vip.family == 4 ? uint8_t(IPPROTO_ICMP) : uint8_t(IPPROTO_ICMPV6), 0))
      answersEcho.insert(i);
    frontendKeys.insert(i);
    for (size_t b = 0; b < table.frontends[i].backends.size(); ++b) backendKeys.insert({i, b});
  }
  auto frontendIds = idsOf(frontendKeys, frontendText);
  auto backendIds = idsOf(backendKeys, [&](std::pair<size_t, size_t> key) {
    const auto& backend = table.frontends[key.first].backends[key.second];
    return frontendText(key.first) + "|" + backend.address.addressText() + "|" +
           std::to_string(backend.port);
  });
  std::string out = "{\n  \"frontends\": ";
  if (frontendKeys.empty()) out += "[]";
  for (size_t i : frontendKeys) {
    const auto& frontend = table.frontends[i];
    out += i == *frontendKeys.begin() ? "[\n    {" : "},\n    {";
    if (frontend.affinitySeconds)
      out += "\"affinity_seconds\": " + std::to_string(*frontend.affinitySeconds) + ", ";
    out += "\"backends\": [";
    for (size_t b = 0; b < frontend.backends.size(); ++b) {
      const auto& backend = frontend.backends[b];
      out += b == 0 ? "{" : ", {";
      out += "\"address\": " + quoted(backend.address.addressText()) +
             ", \"endpoint\": " + quoted(backend.endpoint) +
             ", \"id\": " + std::to_string(backendIds.at({i, b})) +
             ", \"port\": " + std::to_string(backend.port) +
             ", \"weight\": " + std::to_string(backend.weight) + "}";
    }
    out += "]";
    if (answersEcho.contains(i)) out += ", \"echo\": true";
    out += ", \"id\": " + std::to_string(frontendIds.at(i)) +
           ", \"port\": " + std::to_string(frontend.port) +
           ", \"protocol\": " + quoted(protocolName(frontend.protocol)) +
           ", \"service\": " + quoted(frontend.service) +
           ", \"vip\": " + quoted(frontend.vip.addressText());
  }
  if (!frontendKeys.empty()) out += "}\n  ]";
  out += ",\n  \"maglev_table_size\": " + std::to_string(kMaglevTableSize) + "\n}\n";
  return out;
}

} // namespace polc::services
