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
    auto level = fromBytes<polc_monitor_endpoint>(value).level;
    if (level != POLC_MONITOR_DEFAULT)
      settings.endpoints[fromBytes<uint32_t>(key)] = MonitorLevel(level);
  }
  return settings;
}

Status setMonitorLevel(MapBackend& backend, MonitorMaps maps, MonitorLevel level,
                       std::optional<uint32_t> ifindex) {
  auto config = readConfig(backend, maps.config);
  if (!config) return Error{config.error()};
  if (ifindex) {
    // The endpoint's entry first, the config's summary after: a reader in
    // between sees a max_level too high (one lookup too many), never too low.
    const std::string key = toBytes(*ifindex);
    Status written = level == MonitorLevel::Default
                         ? backend.erase(maps.endpoints, kEndpointsName, key)
                         : backend.update(maps.endpoints, kEndpointsName, key,
                                          toBytes(polc_monitor_endpoint{uint8_t(level), {}}));
    if (!written) return written;
  } else {
    config->level = uint8_t(level);
  }
  auto settings = readMonitorSettings(backend, maps);
  if (!settings) return Error{settings.error()};
  auto highest = effectiveNodeLevel(config->level);
  for (const auto& [index, endpointLevel] : settings->endpoints)
    highest = std::max(highest, endpointLevel);
  config->max_level = uint8_t(highest);
  config->endpoint_levels = settings->endpoints.empty() ? 0 : 1;
  return backend.update(maps.config, kConfigName, zeroKey(), toBytes(*config));
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
