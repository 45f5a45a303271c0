// The one place that encodes the pinned maps' keys and values
// (bpf/lib/polc_structs.h) from the build's tables, and compares map
// contents. Pure: no kernel contact. Reading and writing maps is
// map_backend.h; the pins' names are pin_layout.h.
#pragma once

#include "polc/artifacts/table_lines.h"
#include "polc/artifacts/tables.h"
#include "polc/support/expected.h"
#include "polc_structs.h"

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace polc::maps {

using IpcacheMapEntry = std::pair<polc_ipcache_key, polc_ipcache_value>;
using PolicyMapEntry = std::pair<polc_policy_key, polc_policy_value>;

// Bits beyond the prefix are zeroed, as the datapath masks what it probes
// with. `address`: 4 (IPv4) or 16 (IPv6) bytes in network order.
polc_ipcache_key ipcacheKey(uint8_t family, const void* address, uint8_t prefixLength);
// The key of a prefix written as text ("10.0.0.0/8", "fd00::1"; no length:
// a host).
Expected<polc_ipcache_key> ipcacheKey(std::string_view prefix);
// The dport mask (network byte order) of a policy key prefix length (as
// PolicyEntry::keyPrefixLength()): the first (prefixLength - 48) bits of the
// port; 0 up to protocol-wide keys.
uint16_t policyPortMask(uint32_t prefixLength);
// `port` in host order.
polc_policy_key policyKey(uint32_t identity, uint8_t protocol, uint32_t prefixLength,
                          uint16_t port);
polc_policy_key policyKey(const artifacts::PolicyEntry&);
polc_policy_value policyValue(const artifacts::PolicyEntry&);

Expected<std::vector<IpcacheMapEntry>> toIpcacheMapEntries(const artifacts::Ipcache&);
std::vector<PolicyMapEntry> toPolicyMapEntries(const artifacts::PolicyTable&);

// A map's contents as raw bytes: key -> value.
using MapContents = std::map<std::string, std::string>;
using EntryBytes = std::vector<std::pair<std::string, std::string>>;

template <typename T> std::string toBytes(const T& value) {
  return std::string(reinterpret_cast<const char*>(&value), sizeof value);
}

template <typename Key, typename Value>
EntryBytes toEntryBytes(const std::vector<std::pair<Key, Value>>& entries) {
  EntryBytes bytes;
  bytes.reserve(entries.size());
  for (const auto& [key, value] : entries) bytes.emplace_back(toBytes(key), toBytes(value));
  return bytes;
}

// Entries -> contents; refuses entries of the wrong size and two different
// values for one key.
Expected<MapContents> toMapContents(const std::string& mapName, size_t keySize, size_t valueSize,
                                    const EntryBytes& entries);

template <typename Key, typename Value>
Expected<MapContents> toMapContents(const std::string& mapName,
                                    const std::vector<std::pair<Key, Value>>& entries) {
  return toMapContents(mapName, sizeof(Key), sizeof(Value), toEntryBytes(entries));
}

// Entries added, removed and rewritten between two contents of one map.
struct ContentChange {
  size_t added = 0;
  size_t removed = 0;
  size_t changed = 0;
  bool none() const { return added == 0 && removed == 0 && changed == 0; }
  bool operator==(const ContentChange&) const = default;
};
ContentChange diffContents(const MapContents& before, const MapContents& after);

// ---- ipcache ----------------------------------------------------------------
// The datapath probes the ipcache once per prefix length listed in the
// polc_ipcache_lengths map (one entry, key 0), so a length must be listed
// whenever an entry of it is present.

// The lengths of the keys of any of these ipcache contents, longest first,
// with their masks.
polc_ipcache_lengths ipcacheLengths(std::initializer_list<const MapContents*> contents);
// The same from the lengths themselves (any order, repeats ignored).
polc_ipcache_lengths ipcacheLengths(std::initializer_list<const artifacts::PrefixLengths*> lengths);

// ---- policy map capacity ----------------------------------------------------
// A hash map allocates its buckets from max_entries when it is created, so
// a policy map is sized from its table (the object's max_entries,
// POLC_POLICY_MAX_ENTRIES, is the ceiling) and an update that would not
// fit the live map takes new maps instead.

inline constexpr uint32_t kPolicyMapMinEntries = 64;

// Room for `entries` and as many again (an in-place update of up to that
// many), a power of two, at least kPolicyMapMinEntries, at most
// POLC_POLICY_MAX_ENTRIES.
uint32_t policyMapCapacity(size_t entries);

// Whether a live map of `capacity` entries, holding `liveEntries` (unknown:
// assumed full), can be updated in place to hold `wantedEntries`: an update
// adds before it deletes (applyContents), so both must fit at once.
bool updateFitsInPlace(uint32_t capacity, std::optional<uint64_t> liveEntries,
                       size_t wantedEntries);

} // namespace polc::maps
