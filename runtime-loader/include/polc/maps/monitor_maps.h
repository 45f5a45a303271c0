// What the datapath reports (bpf/lib/polc_monitor.h), read and set through a
// MapBackend: the node's level and each endpoint's own in
// polc_monitor_config and polc_monitor_endpoints, whether it counts
// (polc_counters.h), and what the monitor missed in polc_event_stats. Changing a level is a map
// write: no reload, no connection broken.
#pragma once

#include "polc/maps/map_backend.h"
#include "polc_structs.h"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace polc::maps {

enum class MonitorLevel : uint8_t {
  Default = POLC_MONITOR_DEFAULT, // an endpoint: the node's level; the node: drops
  Off = POLC_MONITOR_OFF,
  Drops = POLC_MONITOR_DROPS,
  Flows = POLC_MONITOR_FLOWS,
  All = POLC_MONITOR_ALL,
};

// "off", "drops", "flows", "all" (and "default" for an endpoint).
std::optional<MonitorLevel> parseMonitorLevel(std::string_view);
std::string_view toString(MonitorLevel);

struct MonitorSettings {
  MonitorLevel node = MonitorLevel::Drops;
  std::map<uint32_t, MonitorLevel> endpoints; // ifindex -> its own level
  uint32_t rate = POLC_EVENT_RATE;            // events per second per endpoint
  uint32_t burst = POLC_EVENT_BURST;
  bool counting = true;     // packet and byte counters (polc_counters.h)
  std::set<uint32_t> audit; // ifindexes of the endpoints in audit mode
  bool operator==(const MonitorSettings&) const = default;
};

struct MonitorMaps {
  MapHandle config = -1;    // polc_monitor_config
  MapHandle endpoints = -1; // polc_monitor_endpoints
};

Expected<MonitorSettings> readMonitorSettings(MapBackend&, MonitorMaps);

// Sets the node's level (no ifindex) or an endpoint's (MonitorLevel::Default
// gives it back to the node's), and keeps the config's max_level and flags
// true to what the maps hold.
Status setMonitorLevel(MapBackend&, MonitorMaps, MonitorLevel, std::optional<uint32_t> ifindex);

// Puts an endpoint in audit mode or takes it out (what policy denies passes,
// reported and counted as audit), keeping the config's flags true.
Status setAudit(MapBackend&, MonitorMaps, uint32_t ifindex, bool on);

// Switches the node's packet and byte counters on or off (the counts stay).
Status setCounting(MapBackend&, MonitorMaps, bool on);

// Sets the endpoints' token bucket; 0 keeps the default.
Status setEventRate(MapBackend&, MonitorMaps, uint32_t perSecond, uint32_t burst);

// polc_event_stats summed over CPUs.
struct EventCounts {
  uint64_t sent = 0;
  uint64_t lost = 0;    // the ring buffer was full
  uint64_t limited = 0; // an endpoint's rate limit suppressed them
  bool operator==(const EventCounts&) const = default;
};
// `cpus`: the kernel's possible CPUs (a per-CPU value holds one per CPU).
Expected<EventCounts> readEventCounts(MapBackend&, MapHandle stats, unsigned cpus);

} // namespace polc::maps
