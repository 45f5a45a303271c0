#include "polc/maps/monitor_maps.h"

#include <algorithm>
#include <cstring>

namespace polc::maps {
namespace {

constexpr const char* kConfigName = "polc_monitor_config";
constexpr const char* kEndpointsName = "polc_monitor_endpoints";
constexpr const char* kStatsName = "polc_event_stats";

const std::string& zeroKey() {
  static const std::string key = toBytes(uint32_t{0});
  return key;
}

template <typename T> T fromBytes(const std::string& bytes) {
  T value{};
  std::memcpy(&value, bytes.data(), std::min(bytes.size(), sizeof value));
  return value;
}

Expected<polc_monitor_config> readConfig(MapBackend& backend, MapHandle config) {
  auto value = backend.lookup(config, kConfigName, zeroKey(), sizeof(polc_monitor_config));
  if (!value) return Error{value.error()};
  return *value ? fromBytes<polc_monitor_config>(**value) : polc_monitor_config{};
}

MonitorLevel effectiveNodeLevel(uint8_t stored) {
  return stored == POLC_MONITOR_DEFAULT ? MonitorLevel::Drops : MonitorLevel(stored);
}

} // namespace

Expected<MonitorSettings> readMonitorSettings(MapBackend& backend, MonitorMaps maps);

namespace {

// Writes `config` with its summary of the endpoints' entries: the highest
// level of the node and of any endpoint, and which kinds of entry exist.
Status writeSummary(MapBackend& backend, MonitorMaps maps, polc_monitor_config config) {
  auto settings = readMonitorSettings(backend, maps);
  if (!settings) return Error{settings.error()};
  auto highest = effectiveNodeLevel(config.level);
  for (const auto& [index, endpointLevel] : settings->endpoints)
    highest = std::max(highest, endpointLevel);
  config.max_level = uint8_t(highest);
  config.flags = (settings->endpoints.empty() ? 0 : POLC_MONITOR_FLAG_ENDPOINT_LEVELS) |
                 (settings->audit.empty() ? 0 : POLC_MONITOR_FLAG_AUDIT);
  return backend.update(maps.config, kConfigName, zeroKey(), toBytes(config));
}

} // namespace

std::optional<MonitorLevel> parseMonitorLevel(std::string_view text) {
  for (auto level : {MonitorLevel::Default, MonitorLevel::Off, MonitorLevel::Drops,
                     MonitorLevel::Flows, MonitorLevel::All})
    if (text == toString(level)) return level;
  return std::nullopt;
}

std::string_view toString(MonitorLevel level) {
  switch (level) {
  case MonitorLevel::Default:
    return "default";
  case MonitorLevel::Off:
    return "off";
  case MonitorLevel::Drops:
    return "drops";
  case MonitorLevel::Flows:
    return "flows";
  case MonitorLevel::All:
    return "all";
  }
  return "unknown";
}

Expected<MonitorSettings> readMonitorSettings(MapBackend& backend, MonitorMaps maps) {
  auto config = readConfig(backend, maps.config);
  if (!config) return Error{config.error()};
  MonitorSettings settings;
  settings.node = effectiveNodeLevel(config->level);
  if (config->rate) settings.rate = config->rate;
  if (config->burst) settings.burst = config->burst;
  settings.counting = config->counting != POLC_COUNTING_OFF;
  auto endpoints =
      backend.read(maps.endpoints, kEndpointsName, sizeof(uint32_t), sizeof(polc_monitor_endpoint));
  if (!endpoints) return Error{endpoints.error()};
  for (const auto& [key, value] : *endpoints) {
    const auto endpoint = fromBytes<polc_monitor_endpoint>(value);
    const auto ifindex = fromBytes<uint32_t>(key);
    if (endpoint.level != POLC_MONITOR_DEFAULT)
      settings.endpoints[ifindex] = MonitorLevel(endpoint.level);
    if (endpoint.audit) settings.audit.insert(ifindex);
  }
  return settings;
}

namespace {

// An endpoint's entry: written while it has its own level or is in audit,
// erased when neither. The config's summary is widened to cover the new
// entry before it is written and made exact after, so that a packet in
// between sees a max_level too high or a flag still set (a lookup too
// many), never misses a setting.
Status writeEndpoint(MapBackend& backend, MonitorMaps maps, uint32_t ifindex,
                     polc_monitor_endpoint entry) {
  auto config = readConfig(backend, maps.config);
  if (!config) return Error{config.error()};
  auto widened = *config;
  if (entry.level != POLC_MONITOR_DEFAULT) {
    widened.flags |= POLC_MONITOR_FLAG_ENDPOINT_LEVELS;
    // 0 reads as drops in the datapath: widen from what it reads.
    const uint8_t current = config->max_level ? config->max_level : uint8_t(POLC_MONITOR_DROPS);
    widened.max_level = std::max(current, entry.level);
  }
  if (entry.audit) widened.flags |= POLC_MONITOR_FLAG_AUDIT;
  if (std::memcmp(&widened, &*config, sizeof widened) != 0)
    if (auto written = backend.update(maps.config, kConfigName, zeroKey(), toBytes(widened));
        !written)
      return written;
  const std::string key = toBytes(ifindex);
  Status written = entry.level == POLC_MONITOR_DEFAULT && !entry.audit
                       ? backend.erase(maps.endpoints, kEndpointsName, key)
                       : backend.update(maps.endpoints, kEndpointsName, key, toBytes(entry));
  if (!written) return written;
  return writeSummary(backend, maps, *config);
}

Expected<polc_monitor_endpoint> readEndpoint(MapBackend& backend, MonitorMaps maps,
                                             uint32_t ifindex) {
  auto value = backend.lookup(maps.endpoints, kEndpointsName, toBytes(ifindex),
                              sizeof(polc_monitor_endpoint));
  if (!value) return Error{value.error()};
  return *value ? fromBytes<polc_monitor_endpoint>(**value) : polc_monitor_endpoint{};
}

} // namespace

Status setMonitorLevel(MapBackend& backend, MonitorMaps maps, MonitorLevel level,
                       std::optional<uint32_t> ifindex) {
  if (ifindex) {
    auto entry = readEndpoint(backend, maps, *ifindex);
    if (!entry) return Error{entry.error()};
    entry->level = uint8_t(level);
    return writeEndpoint(backend, maps, *ifindex, *entry);
  }
  auto config = readConfig(backend, maps.config);
  if (!config) return Error{config.error()};
  config->level = uint8_t(level);
  return writeSummary(backend, maps, *config);
}

Status setAudit(MapBackend& backend, MonitorMaps maps, uint32_t ifindex, bool on) {
  auto entry = readEndpoint(backend, maps, ifindex);
  if (!entry) return Error{entry.error()};
  entry->audit = on ? 1 : 0;
  return writeEndpoint(backend, maps, ifindex, *entry);
}

Status setCounting(MapBackend& backend, MonitorMaps maps, bool on) {
  auto config = readConfig(backend, maps.config);
  if (!config) return Error{config.error()};
  config->counting = on ? POLC_COUNTING_ON : POLC_COUNTING_OFF;
  return backend.update(maps.config, kConfigName, zeroKey(), toBytes(*config));
}

Status setEventRate(MapBackend& backend, MonitorMaps maps, uint32_t perSecond, uint32_t burst) {
  auto config = readConfig(backend, maps.config);
  if (!config) return Error{config.error()};
  config->rate = perSecond;
  config->burst = burst;
  return backend.update(maps.config, kConfigName, zeroKey(), toBytes(*config));
}

Expected<EventCounts> readEventCounts(MapBackend& backend, MapHandle stats, unsigned cpus) {
  auto value = backend.lookup(stats, kStatsName, zeroKey(), sizeof(polc_event_stats) * cpus);
  if (!value) return Error{value.error()};
  EventCounts counts;
  if (!*value) return counts;
  for (unsigned cpu = 0; cpu < cpus; ++cpu) {
    polc_event_stats perCpu{};
    std::memcpy(&perCpu, (*value)->data() + cpu * sizeof perCpu, sizeof perCpu);
    counts.sent += perCpu.sent;
    counts.lost += perCpu.lost;
    counts.limited += perCpu.limited;
  }
  return counts;
}

} // namespace polc::maps
