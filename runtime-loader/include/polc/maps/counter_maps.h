// The datapath's packet and byte counters (bpf/lib/polc_counters.h), per
// endpoint interface, direction, reason, verdict and rule, read through a
// MapBackend and summed over CPUs: what `polc stats` and `polc metrics`
// show.
#pragma once

#include "polc/maps/map_backend.h"
#include "polc_structs.h"

#include <cstdint>
#include <set>
#include <vector>

namespace polc::maps {

struct Counter {
  uint32_t ifindex = 0;
  uint32_t ruleId = POLC_CT_RULE_NONE;
  uint8_t direction = 0; // POLC_CT_*
  uint8_t reason = 0;    // POLC_REASON_*
  uint8_t verdict = 0;   // POLC_EVENT_VERDICT_*
  uint64_t packets = 0;
  uint64_t bytes = 0;
  bool operator==(const Counter&) const = default;
};

struct Counters {
  std::vector<Counter> counters; // sorted by ifindex, direction, reason, verdict, rule
  uint32_t capacity = 0;         // max_entries: at capacity, new keys go uncounted
  bool full() const { return capacity && counters.size() >= capacity; }
};

// `cpus`: the kernel's possible CPUs (a per-CPU value holds one per CPU).
Expected<Counters> readCounters(MapBackend&, MapHandle counters, unsigned cpus);

// Deletes the counters of these interfaces (endpoints removed, or recreated
// with another ifindex), so that a recycled ifindex starts from zero and
// the map does not fill with the dead. Returns how many keys went.
Expected<size_t> forgetInterfaces(MapBackend&, MapHandle counters,
                                  const std::set<uint32_t>& ifindexes, unsigned cpus);

// The key bytes of a counter, as the datapath writes them.
std::string counterKeyBytes(const Counter&);

} // namespace polc::maps
