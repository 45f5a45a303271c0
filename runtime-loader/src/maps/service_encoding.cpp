#include "polc/maps/service_encoding.h"

#include "polc/services/maglev.h"

#include "polc_structs.h"

#include <nlohmann/json.hpp>

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <stdexcept>

namespace polc::maps {
namespace {

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
  std::optional<std::string> echoKey; // the vip's echo, with the same value
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
      entries.backends.emplace_back(toBytes(ids.back()), toBytes(backend));
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
    entries.table = {toBytes(value.frontend_id), toBytes(table)};
  }
  entries.key = toBytes(key);
  entries.value = toBytes(value);
  if (frontend.value("echo", false)) {
    key.protocol =
        uint8_t(key.family == POLC_FAMILY_IPV4 ? int(IPPROTO_ICMP) : int(IPPROTO_ICMPV6));
    key.dport = 0;
    entries.echoKey = toBytes(key);
  }
  return entries;
}

} // namespace

Status addServiceFrontend(const nlohmann::json& json, ServiceMapContents& into) {
  auto frontend = frontendEntries(json);
  if (!frontend) return Error{frontend.error()};
  const auto name = json.at("vip").get<std::string>() + " " +
                    json.at("protocol").get<std::string>() + "/" + std::to_string(portAt(json));
  if (!into.services.emplace(frontend->key, frontend->value).second)
    return Error{"frontend " + name + " twice"};
  if (frontend->echoKey && !into.services.emplace(*frontend->echoKey, frontend->value).second)
    return Error{"frontend " + name + ": its vip's echo is answered twice"};
  if (frontend->table && !into.maglev.insert(*frontend->table).second)
    return Error{"frontend " + name + ": its id " + std::to_string(idAt(json)) + " is taken"};
  for (const auto& backend : frontend->backends)
    if (!into.backends.insert(backend).second)
      return Error{"frontend " + name + ": a backend id is taken"};
  return okStatus();
}

Expected<ServiceMapContents> toServiceMapContents(const nlohmann::json& document) try {
  if (document.value("maglev_table_size", 0u) != POLC_MAGLEV_SIZE)
    return Error{"maglev_table_size is not " + std::to_string(POLC_MAGLEV_SIZE) +
                 ", the datapath's (a build of another polc version?)"};
  ServiceMapContents result;
  for (const auto& json : document.at("frontends"))
    if (auto added = addServiceFrontend(json, result); !added) return Error{added.error()};
  return result;
} catch (const std::exception& e) { // a missing field or one of the wrong type
  return Error{std::string("malformed: ") + e.what()};
}

} // namespace polc::maps
