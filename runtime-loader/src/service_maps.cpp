#include "service_maps.h"

#include "polc/services/maglev.h"

#include "polc_structs.h"

#include <nlohmann/json.hpp>

#include <arpa/inet.h>

#include <cstring>
#include <set>

namespace polc::runtime {
namespace {

uint32_t fnv1a(std::string_view text) {
  uint32_t hash = 0x811c9dc5u;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x01000193u;
  }
  return hash;
}

// A stable id for `what`, the next free one on a collision (ids are taken
// in sorted order, so the result depends on the set, not on file order).
uint32_t idFor(const std::string& what, std::set<uint32_t>& taken) {
  uint32_t id = fnv1a(what);
  while (!taken.insert(id).second) ++id;
  return id;
}

template <typename T> std::string bytesOf(const T& value) {
  return std::string(reinterpret_cast<const char*>(&value), sizeof value);
}

Expected<uint8_t> addressInto(const std::string& text, uint32_t* words) {
  if (inet_pton(AF_INET, text.c_str(), words) == 1) return uint8_t(POLC_FAMILY_IPV4);
  if (inet_pton(AF_INET6, text.c_str(), words) == 1) return uint8_t(POLC_FAMILY_IPV6);
  return Error{"\"" + text + "\" is not an IPv4 or IPv6 address"};
}

Expected<uint8_t> protocolNumber(const std::string& name) {
  if (name == "tcp") return uint8_t(IPPROTO_TCP);
  if (name == "udp") return uint8_t(IPPROTO_UDP);
  if (name == "sctp") return uint8_t(IPPROTO_SCTP);
  return Error{"protocol \"" + name + "\" is not tcp, udp or sctp"};
}

// A number in range, never narrowed into it (a port of 70000 is an error,
// not 4464); std::out_of_range otherwise, reported as malformed.
uint32_t numberAt(const nlohmann::json& object, const char* key, uint32_t max) {
  const auto& value = object.at(key);
  if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<uint64_t>() > max)
    throw std::out_of_range(std::string("\"") + key + "\" is not a number from 0 to " +
                            std::to_string(max));
  return value.get<uint32_t>();
}
uint16_t portAt(const nlohmann::json& object) {
  return uint16_t(numberAt(object, "port", 65535));
}

Expected<ServiceMaps> contentsOf(const nlohmann::json& document) {
  if (document.value("maglev_table_size", 0u) != POLC_MAGLEV_SIZE)
    return Error{"maglev_table_size is not " + std::to_string(POLC_MAGLEV_SIZE) +
                 ", the datapath's (a build of another polc version?)"};
  ServiceMaps result;
  std::set<uint32_t> frontendIds, backendIds;
  std::map<std::string, uint32_t> backendIdOf; // "address:port" -> id
  // Backends first, in sorted order, so that their ids do not depend on
  // which frontend names them first.
  std::set<std::string> backendKeys;
  for (const auto& frontend : document.at("frontends"))
    for (const auto& backend : frontend.at("backends"))
      backendKeys.insert(backend.at("address").get<std::string>() + "|" +
                         std::to_string(portAt(backend)));
  for (const auto& key : backendKeys) {
    auto bar = key.find('|');
    polc_backend backend{};
    auto family = addressInto(key.substr(0, bar), backend.addr);
    if (!family) return Error{"backend " + family.error()};
    backend.family = *family;
    backend.port = htons(uint16_t(std::stoul(key.substr(bar + 1))));
    uint32_t id = idFor(key, backendIds);
    backendIdOf[key] = id;
    result.backends[bytesOf(id)] = bytesOf(backend);
  }
  for (const auto& frontend : document.at("frontends")) {
    polc_service_key key{};
    auto vip = frontend.at("vip").get<std::string>();
    auto family = addressInto(vip, key.vip);
    if (!family) return Error{"vip " + family.error()};
    key.family = *family;
    auto protocol = protocolNumber(frontend.at("protocol").get<std::string>());
    if (!protocol) return Error{protocol.error()};
    key.protocol = *protocol;
    key.dport = htons(portAt(frontend));
    std::vector<services::MaglevBackend> keyed;
    std::vector<uint32_t> ids;
    for (const auto& backend : frontend.at("backends")) {
      auto text = backend.at("address").get<std::string>() + "|" + std::to_string(portAt(backend));
      ids.push_back(backendIdOf.at(text));
      keyed.push_back(
          {backend.at("address").get<std::string>() + ":" + std::to_string(portAt(backend)),
           numberAt(backend, "weight", 1000)});
    }
    const uint32_t id = idFor(vip + "/" + frontend.at("protocol").get<std::string>() + "/" +
                                  std::to_string(portAt(frontend)),
                              frontendIds);
    polc_service_value value{};
    value.frontend_id = id;
    auto slots = services::buildMaglevTable(keyed, POLC_MAGLEV_SIZE);
    if (!slots.empty()) {
      uint32_t usable = 0;
      for (const auto& backend : keyed) usable += backend.weight != 0 ? 1 : 0;
      value.backend_count = uint16_t(std::min<uint32_t>(usable, 0xffff));
      polc_maglev_table table{};
      for (size_t slot = 0; slot < slots.size(); ++slot) table.backend_id[slot] = ids[slots[slot]];
      result.maglev[bytesOf(id)] = bytesOf(table);
    }
    result.services[bytesOf(key)] = bytesOf(value);
  }
  return result;
}

maps::MapContents unionOf(const maps::MapContents& before, const maps::MapContents& after) {
  maps::MapContents both = before;
  for (const auto& [key, value] : after) both[key] = value;
  return both;
}

Status step(maps::MapBackend& backend, Rollback& rollback, maps::MapHandle map,
            const std::string& name, const maps::MapContents& from, const maps::MapContents& to) {
  return updateInPlace(backend, rollback, map, name, from, to);
}

} // namespace

Expected<ServiceMaps> serviceMapContents(const nlohmann::json& document) {
  try {
    return contentsOf(document);
  } catch (const std::exception& e) { // a missing field or one of the wrong type
    return Error{std::string("malformed: ") + e.what()};
  }
}

Expected<ServiceMaps> readServiceMaps(maps::MapBackend& backend, const ServiceMapHandles& maps) {
  ServiceMaps live;
  auto services = backend.read(maps.services, "polc_services", sizeof(polc_service_key),
                               sizeof(polc_service_value));
  if (!services) return Error{services.error()};
  auto maglev =
      backend.read(maps.maglev, "polc_maglev", sizeof(uint32_t), sizeof(polc_maglev_table));
  if (!maglev) return Error{maglev.error()};
  auto backends =
      backend.read(maps.backends, "polc_backends", sizeof(uint32_t), sizeof(polc_backend));
  if (!backends) return Error{backends.error()};
  return ServiceMaps{std::move(*services), std::move(*maglev), std::move(*backends)};
}

maps::ContentChange serviceMapChange(const ServiceMaps& before, const ServiceMaps& after) {
  maps::ContentChange total;
  for (auto [from, to] : {std::pair{&before.services, &after.services},
                          {&before.maglev, &after.maglev},
                          {&before.backends, &after.backends}}) {
    auto change = maps::diffContents(*from, *to);
    total.added += change.added;
    total.removed += change.removed;
    total.changed += change.changed;
  }
  return total;
}

Status updateServiceMaps(maps::MapBackend& backend, Rollback& rollback,
                         const ServiceMapHandles& maps, const ServiceMaps& before,
                         const ServiceMaps& after, ServiceMaps& both) {
  both.backends = unionOf(before.backends, after.backends);
  both.maglev = unionOf(before.maglev, after.maglev);
  if (auto ok =
          step(backend, rollback, maps.backends, "polc_backends", before.backends, both.backends);
      !ok)
    return ok;
  if (auto ok = step(backend, rollback, maps.maglev, "polc_maglev", before.maglev, both.maglev);
      !ok)
    return ok;
  if (auto ok =
          step(backend, rollback, maps.services, "polc_services", before.services, after.services);
      !ok)
    return ok;
  if (auto ok = step(backend, rollback, maps.maglev, "polc_maglev", both.maglev, after.maglev); !ok)
    return ok;
  return step(backend, rollback, maps.backends, "polc_backends", both.backends, after.backends);
}

} // namespace polc::runtime
