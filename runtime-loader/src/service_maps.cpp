#include "service_maps.h"

#include "polc/artifacts/table_lines.h"
#include "polc/services/maglev.h"

#include "polc_structs.h"

#include <nlohmann/json.hpp>

#include <arpa/inet.h>

#include <cstring>
#include <unordered_set>

namespace polc::runtime {
namespace {

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
uint32_t idAt(const nlohmann::json& object) {
  return numberAt(object, "id", UINT32_MAX);
}

// One line of "frontends": its polc_services entry, its Maglev table (none
// when no backend has a weight: the frontend refuses) and an entry in
// polc_backends for each backend with a weight.
struct FrontendEntries {
  std::string key, value;
  std::optional<std::pair<std::string, std::string>> table;
  std::vector<std::pair<std::string, std::string>> backends;
};

Expected<FrontendEntries> frontendEntries(const nlohmann::json& frontend) {
  polc_service_key key{};
  auto family = addressInto(frontend.at("vip").get<std::string>(), key.vip);
  if (!family) return Error{"vip " + family.error()};
  key.family = *family;
  auto protocol = protocolNumber(frontend.at("protocol").get<std::string>());
  if (!protocol) return Error{protocol.error()};
  key.protocol = *protocol;
  key.dport = htons(portAt(frontend));
  FrontendEntries entries;
  std::vector<services::MaglevBackend> keyed;
  std::vector<uint32_t> ids;
  for (const auto& json : frontend.at("backends")) {
    const auto address = json.at("address").get<std::string>();
    ids.push_back(idAt(json));
    keyed.push_back({address + ":" + std::to_string(portAt(json)),
                     numberAt(json, "weight", services::kMaxMaglevWeight)});
    polc_backend backend{};
    auto backendFamily = addressInto(address, backend.addr);
    if (!backendFamily) return Error{"backend " + backendFamily.error()};
    backend.family = *backendFamily;
    backend.port = htons(portAt(json));
    if (keyed.back().weight != 0)
      entries.backends.emplace_back(bytesOf(ids.back()), bytesOf(backend));
  }
  polc_service_value value{};
  value.frontend_id = idAt(frontend);
  if (frontend.contains("affinity_seconds"))
    value.affinity_seconds = numberAt(frontend, "affinity_seconds", UINT32_MAX);
  auto slots = services::buildMaglevTable(keyed, POLC_MAGLEV_SIZE);
  if (!slots.empty()) {
    value.backend_count = uint16_t(std::min<size_t>(entries.backends.size(), 0xffff));
    polc_maglev_table table{};
    for (size_t slot = 0; slot < slots.size(); ++slot) table.backend_id[slot] = ids[slots[slot]];
    entries.table = {bytesOf(value.frontend_id), bytesOf(table)};
  }
  entries.key = bytesOf(key);
  entries.value = bytesOf(value);
  return entries;
}

Status addFrontend(const nlohmann::json& json, ServiceMaps& into) {
  auto frontend = frontendEntries(json);
  if (!frontend) return Error{frontend.error()};
  const auto name = json.at("vip").get<std::string>() + " " +
                    json.at("protocol").get<std::string>() + "/" + std::to_string(portAt(json));
  if (!into.services.emplace(frontend->key, frontend->value).second)
    return Error{"frontend " + name + " twice"};
  if (frontend->table && !into.maglev.insert(*frontend->table).second)
    return Error{"frontend " + name + ": its id " + std::to_string(idAt(json)) + " is taken"};
  for (const auto& backend : frontend->backends)
    if (!into.backends.insert(backend).second)
      return Error{"frontend " + name + ": a backend id is taken"};
  return okStatus();
}

Expected<ServiceMaps> contentsOf(const nlohmann::json& document) {
  if (document.value("maglev_table_size", 0u) != POLC_MAGLEV_SIZE)
    return Error{"maglev_table_size is not " + std::to_string(POLC_MAGLEV_SIZE) +
                 ", the datapath's (a build of another polc version?)"};
  ServiceMaps result;
  for (const auto& json : document.at("frontends"))
    if (auto added = addFrontend(json, result); !added) return Error{added.error()};
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

std::optional<ServiceMapsDelta> serviceMapDelta(std::string_view beforeText,
                                                std::string_view afterText) {
  constexpr std::string_view kTail = "\n  \"maglev_table_size\": ";
  auto beforeTail = beforeText.rfind(kTail), afterTail = afterText.rfind(kTail);
  if (beforeTail == std::string_view::npos || afterTail == std::string_view::npos ||
      beforeText.substr(beforeTail) != afterText.substr(afterTail))
    return std::nullopt;
  auto old = artifacts::arrayLines(beforeText, "frontends");
  auto now = artifacts::arrayLines(afterText, "frontends");
  if (!old || !now) return std::nullopt;
  std::unordered_set<std::string_view> was(old->begin(), old->end()), is(now->begin(), now->end());
  if (was.size() != old->size() || is.size() != now->size()) return std::nullopt;
  ServiceMapsDelta delta;
  delta.frontends = now->size();
  try {
    for (auto line : *old)
      if (!is.contains(line) && !addFrontend(nlohmann::json::parse(line), delta.before))
        return std::nullopt;
    for (auto line : *now)
      if (!was.contains(line) && !addFrontend(nlohmann::json::parse(line), delta.after))
        return std::nullopt;
  } catch (const std::exception&) { // not in the form a delta needs: the whole file is read
    return std::nullopt;
  }
  return delta;
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
