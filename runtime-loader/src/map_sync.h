// Tables (artifacts) -> kernel map entries (bpf/lib/polc_structs.h), and
// making a map's contents equal a set of entries.
#pragma once

#include "polc/artifacts/tables.h"
#include "polc/loader/loader.h"
#include "polc/support/expected.h"
#include "polc_structs.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace polc::runtime {

using IpcacheMapEntry = std::pair<polc_ipcache_key, polc_ipcache_value>;
using PolicyMapEntry = std::pair<polc_policy_key, polc_policy_value>;

// The one place that builds map keys: bits beyond the prefix are zeroed,
// as the datapath masks what it probes with.
// `address`: 4 (IPv4) or 16 (IPv6) bytes in network order.
polc_ipcache_key ipcacheKey(uint8_t family, const void* address, uint8_t prefixLength);
// `prefixLength` as PolicyEntry::keyPrefixLength(); `port` in host order.
// The dport mask (network byte order) of a policy key prefix length: the
// first (prefixLength - 48) bits of the port; 0 up to protocol-wide keys.
uint16_t policyPortMask(uint32_t prefixLength);
polc_policy_key policyKey(uint32_t identity, uint8_t protocol, uint32_t prefixLength,
                          uint16_t port);

Expected<std::vector<IpcacheMapEntry>> toIpcacheMapEntries(const artifacts::Ipcache&);
std::vector<PolicyMapEntry> toPolicyMapEntries(const artifacts::PolicyTable&);

using EntryBytes = std::vector<std::pair<std::string, std::string>>;

template <typename Key, typename Value>
EntryBytes toEntryBytes(const std::vector<std::pair<Key, Value>>& entries) {
  EntryBytes bytes;
  bytes.reserve(entries.size());
  for (const auto& [key, value] : entries)
    bytes.emplace_back(std::string(reinterpret_cast<const char*>(&key), sizeof key),
                       std::string(reinterpret_cast<const char*>(&value), sizeof value));
  return bytes;
}

// A map's contents as raw bytes: key -> value.
using MapContents = std::map<std::string, std::string>;

// Entries -> contents; refuses entries of the wrong size and two different
// values for one key.
Expected<MapContents> toMapContents(const std::string& mapName, size_t keySize, size_t valueSize,
                                    const EntryBytes& entries);

template <typename Key, typename Value>
Expected<MapContents> toMapContents(const std::string& mapName,
                                    const std::vector<std::pair<Key, Value>>& entries) {
  return toMapContents(mapName, sizeof(Key), sizeof(Value), toEntryBytes(entries));
}

// Every entry of a map.
Expected<MapContents> readMap(int mapFd, const std::string& mapName, size_t keySize,
                              size_t valueSize);

// What turns `before` into `after`: keys added, removed, and kept with a new value.
loader::TableChange diffContents(const MapContents& before, const MapContents& after);

// Makes a map that holds `current` hold `wanted`: new and changed values
// first, then deletes, so that a prefix that only changes shape stays
// covered throughout.
Status applyContents(int mapFd, const std::string& mapName, const MapContents& current,
                     const MapContents& wanted);

// Writes every entry into the map (insert or update) and deletes every key
// that is not among them, so that the map holds exactly these entries.
// Returns how many entries were written.
Expected<size_t> syncMap(int mapFd, const std::string& mapName, size_t keySize, size_t valueSize,
                         const EntryBytes& entries);

template <typename Key, typename Value>
Expected<size_t> syncMap(int mapFd, const std::string& mapName,
                         const std::vector<std::pair<Key, Value>>& entries) {
  return syncMap(mapFd, mapName, sizeof(Key), sizeof(Value), toEntryBytes(entries));
}

// ---- ipcache ----------------------------------------------------------------
// The datapath probes the ipcache once per prefix length listed in the
// polc_ipcache_lengths map, so a length must be listed whenever an entry of
// it is present.

// The lengths of the keys of any of these ipcache contents, longest first,
// with their masks.
polc_ipcache_lengths ipcacheLengths(std::initializer_list<const MapContents*> contents);

// Makes the ipcache that holds `current` hold `wanted`, keeping the
// lengths map a superset of the lengths present: the union of old and new
// lengths first, then the entries (applyContents), then the new lengths.
Status applyIpcache(int ipcacheFd, int lengthsFd, const std::string& mapName,
                    const MapContents& current, const MapContents& wanted);

// Reads the ipcache, then applyIpcache. Returns how many entries were written.
Expected<size_t> syncIpcache(int ipcacheFd, int lengthsFd, const std::vector<IpcacheMapEntry>&);

// The identity the datapath finds for an address (the same probes, from
// userspace): the longest prefix present, else POLC_IDENTITY_WORLD.
Expected<uint32_t> lookupIpcache(int ipcacheFd, int lengthsFd, uint8_t family, const void* address);

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

// The max_entries of a live map.
Expected<uint32_t> mapCapacity(int mapFd);

// Whether the map pinned at `pin`, holding `liveEntries` (unknown: assumed
// full), can be updated in place to hold `wantedEntries`: applyContents adds
// before it deletes, so both must fit at once. No pin: true (there is
// nothing to overflow).
bool updateFitsInPlace(const std::filesystem::path& pin, std::optional<uint64_t> liveEntries,
                       size_t wantedEntries);

} // namespace polc::runtime
