// Tables (artifacts) -> kernel map entries (bpf/lib/polc_structs.h), and
// making a map's contents equal a set of entries.
#pragma once

#include "polc/artifacts/tables.h"
#include "polc/support/expected.h"
#include "polc_structs.h"

#include <cstddef>
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

// Writes every entry into the map (insert or update) and deletes every key
// that is not among them, so that the map holds exactly these entries.
// Returns how many entries were written.
Expected<size_t> syncLpmMap(int mapFd, const std::string& mapName, size_t keySize, size_t valueSize,
                            const std::vector<std::pair<std::string, std::string>>& entries);

template <typename Key, typename Value>
Expected<size_t> syncLpmMap(int mapFd, const std::string& mapName,
                            const std::vector<std::pair<Key, Value>>& entries) {
  std::vector<std::pair<std::string, std::string>> bytes;
  bytes.reserve(entries.size());
  for (const auto& [key, value] : entries)
    bytes.emplace_back(std::string(reinterpret_cast<const char*>(&key), sizeof key),
                       std::string(reinterpret_cast<const char*>(&value), sizeof value));
  return syncLpmMap(mapFd, mapName, sizeof(Key), sizeof(Value), bytes);
}

} // namespace polc::runtime
