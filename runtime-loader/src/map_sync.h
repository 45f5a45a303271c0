// Tables (artifacts) -> kernel map entries (bpf/lib/polc_structs.h), and
// making a map's contents equal a set of entries.
#pragma once

#include "polc/artifacts/tables.h"
#include "polc/loader/loader.h"
#include "polc/support/expected.h"
#include "polc_structs.h"

#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace polc::runtime {

using IpcacheMapEntry = std::pair<polc_ipcache_key, polc_ipcache_value>;
using PolicyMapEntry = std::pair<polc_policy_key, polc_policy_value>;

Expected<std::vector<IpcacheMapEntry>> toIpcacheMapEntries(const artifacts::Ipcache&);
std::vector<PolicyMapEntry> toPolicyMapEntries(const artifacts::PolicyTable&);

// Zeroes the key bits after its LPM prefix (the kernel ignores them, so two
// keys that differ only there are the same entry). Keys start with the
// __u32 prefixlen, as every LPM trie key does.
void canonicalizeLpmKey(void* key, size_t keySize);

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

// A map's contents as raw bytes: canonical key -> value.
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

// Every entry of an LPM map (keys canonicalized).
Expected<MapContents> readLpmMap(int mapFd, const std::string& mapName, size_t keySize,
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
Expected<size_t> syncLpmMap(int mapFd, const std::string& mapName, size_t keySize, size_t valueSize,
                            const EntryBytes& entries);

template <typename Key, typename Value>
Expected<size_t> syncLpmMap(int mapFd, const std::string& mapName,
                            const std::vector<std::pair<Key, Value>>& entries) {
  return syncLpmMap(mapFd, mapName, sizeof(Key), sizeof(Value), toEntryBytes(entries));
}

} // namespace polc::runtime
