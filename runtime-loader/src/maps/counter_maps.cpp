#include "polc/maps/counter_maps.h"

#include "polc/artifacts/manifest.h"

#include <algorithm>
#include <cstring>
#include <tuple>

namespace polc::maps {
namespace {

// The kernel copies a per-CPU value out in slots rounded up to 8 bytes.
constexpr size_t kPerCpuSlot = (sizeof(polc_counter_value) + 7) / 8 * 8;

} // namespace

std::string counterKeyBytes(const Counter& counter) {
  polc_counter_key key{};
  key.ifindex = counter.ifindex;
  key.rule_id = counter.ruleId;
  key.direction = counter.direction;
  key.reason = counter.reason;
  key.verdict = counter.verdict;
  return {reinterpret_cast<const char*>(&key), sizeof key};
}

Expected<Counters> readCounters(MapBackend& backend, MapHandle map, unsigned cpus) {
  const std::string name = artifacts::kMapCounters;
  Counters read;
  auto capacity = backend.capacity(map, name);
  if (!capacity) return Error{capacity.error()};
  read.capacity = *capacity;
  auto contents = backend.read(map, name, sizeof(polc_counter_key), kPerCpuSlot * cpus);
  if (!contents) return Error{contents.error()};
  read.counters.reserve(contents->size());
  for (const auto& [keyBytes, valueBytes] : *contents) {
    polc_counter_key key{};
    std::memcpy(&key, keyBytes.data(), sizeof key);
    Counter counter{key.ifindex, key.rule_id, key.direction, key.reason, key.verdict};
    for (unsigned cpu = 0; cpu < cpus; ++cpu) {
      polc_counter_value perCpu{};
      std::memcpy(&perCpu, valueBytes.data() + cpu * kPerCpuSlot, sizeof perCpu);
      counter.packets += perCpu.packets;
      counter.bytes += perCpu.bytes;
    }
    read.counters.push_back(counter);
  }
  auto order = [](const Counter& c) {
    return std::tuple(c.ifindex, c.direction, c.reason, c.verdict, c.ruleId);
  };
  std::sort(read.counters.begin(), read.counters.end(),
            [&](const Counter& a, const Counter& b) { return order(a) < order(b); });
  return read;
}

Expected<size_t> forgetInterfaces(MapBackend& backend, MapHandle map,
                                  const std::set<uint32_t>& ifindexes, unsigned cpus) {
  const std::string name = artifacts::kMapCounters;
  auto contents = backend.read(map, name, sizeof(polc_counter_key), kPerCpuSlot * cpus);
  if (!contents) return Error{contents.error()};
  size_t forgotten = 0;
  for (const auto& [keyBytes, value] : *contents) {
    polc_counter_key key{};
    std::memcpy(&key, keyBytes.data(), sizeof key);
    if (!ifindexes.contains(key.ifindex)) continue;
    if (auto erased = backend.erase(map, name, keyBytes); !erased) return Error{erased.error()};
    ++forgotten;
  }
  return forgotten;
}

} // namespace polc::maps
