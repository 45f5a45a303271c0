#include "service_maps.h"

#include "polc/artifacts/table_lines.h"

#include "polc_structs.h"

#include <nlohmann/json.hpp>

#include <unordered_set>

namespace polc::runtime {
namespace {

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
  // polc_services entries: a line each, and one more for a vip's echo (a
  // quoted name can hold no `"echo": true`: its quotes are escaped).
  delta.frontends = now->size();
  for (auto line : *now) delta.frontends += line.find("\"echo\": true") != line.npos;
  try {
    for (auto line : *old)
      if (!is.contains(line) &&
          !maps::addServiceFrontend(nlohmann::json::parse(line), delta.before))
        return std::nullopt;
    for (auto line : *now)
      if (!was.contains(line) &&
          !maps::addServiceFrontend(nlohmann::json::parse(line), delta.after))
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
