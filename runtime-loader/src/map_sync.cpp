#include "map_sync.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <vector>

namespace polc::runtime {

Expected<std::vector<IpcacheMapEntry>> toIpcacheMapEntries(const artifacts::Ipcache& ipcache) {
  std::vector<IpcacheMapEntry> entries;
  for (const auto& entry : ipcache.entries) {
    polc_ipcache_key key{};
    key.family = entry.family == 6 ? POLC_FAMILY_IPV6 : POLC_FAMILY_IPV4;
    int af = entry.family == 6 ? AF_INET6 : AF_INET;
    if (::inet_pton(af, entry.address.c_str(), key.addr) != 1)
      return Error{"ipcache: \"" + entry.address + "\" is not an IPv" +
                   std::to_string(entry.family) + " address"};
    key.prefixlen = POLC_IPCACHE_PREFIX_BASE + entry.prefixLength;
    canonicalizeLpmKey(&key, sizeof key);
    entries.push_back({key, polc_ipcache_value{entry.identity}});
  }
  return entries;
}

std::vector<PolicyMapEntry> toPolicyMapEntries(const artifacts::PolicyTable& table) {
  std::vector<PolicyMapEntry> entries;
  for (const auto& entry : table.entries) {
    polc_policy_key key{};
    key.prefixlen = entry.keyPrefixLength();
    key.identity = entry.identity;
    key.protocol = entry.protocol;
    key.dport = htons(entry.port);
    canonicalizeLpmKey(&key, sizeof key);
    polc_policy_value value{};
    value.verdict = static_cast<__u8>(entry.verdict);
    value.rule_id = entry.ruleId;
    entries.push_back({key, value});
  }
  return entries;
}

void canonicalizeLpmKey(void* key, size_t keySize) {
  uint32_t prefixLength = 0;
  std::memcpy(&prefixLength, key, sizeof prefixLength);
  auto* data = static_cast<unsigned char*>(key) + sizeof prefixLength;
  size_t dataBits = (keySize - sizeof prefixLength) * 8;
  for (size_t bit = prefixLength; bit < dataBits; ++bit)
    data[bit / 8] &= static_cast<unsigned char>(~(0x80u >> (bit % 8)));
}

Expected<MapContents> toMapContents(const std::string& mapName, size_t keySize, size_t valueSize,
                                    const EntryBytes& entries) {
  MapContents wanted;
  for (const auto& [key, value] : entries) {
    if (key.size() != keySize || value.size() != valueSize)
      return Error{"map " + mapName + ": entry size does not match the map"};
    auto [it, inserted] = wanted.emplace(key, value);
    if (!inserted && it->second != value)
      return Error{"map " + mapName + ": two entries with the same key and different values"};
  }
  return wanted;
}

Expected<MapContents> readLpmMap(int mapFd, const std::string& mapName, size_t keySize,
                                 size_t valueSize) {
  // Collect the keys first: a lookup between get_next_key calls is fine,
  // but a walk that races a delete restarts.
  std::vector<std::string> keys;
  std::string current(keySize, '\0'), next(keySize, '\0');
  const void* previous = nullptr;
  while (bpf_map_get_next_key(mapFd, previous, next.data()) == 0) {
    keys.push_back(next);
    current = next;
    previous = current.data();
  }
  if (errno != ENOENT) return Error{"map " + mapName + ": listing keys: " + std::strerror(errno)};
  MapContents contents;
  std::string value(valueSize, '\0');
  for (auto& key : keys) {
    canonicalizeLpmKey(key.data(), keySize);
    if (bpf_map_lookup_elem(mapFd, key.data(), value.data()) != 0) continue; // deleted meanwhile
    contents[key] = value;
  }
  return contents;
}

loader::TableChange diffContents(const MapContents& before, const MapContents& after) {
  loader::TableChange change;
  for (const auto& [key, value] : after) {
    auto old = before.find(key);
    if (old == before.end())
      ++change.added;
    else if (old->second != value)
      ++change.changed;
  }
  for (const auto& [key, value] : before)
    if (!after.contains(key)) ++change.removed;
  return change;
}

Status applyContents(int mapFd, const std::string& mapName, const MapContents& current,
                     const MapContents& wanted) {
  auto failure = [&](const std::string& what) {
    return Error{"map " + mapName + ": " + what + ": " + std::strerror(errno)};
  };
  for (const auto& [key, value] : wanted) {
    auto old = current.find(key);
    if (old != current.end() && old->second == value) continue;
    if (bpf_map_update_elem(mapFd, key.data(), value.data(), BPF_ANY) != 0)
      return failure("writing an entry");
  }
  for (const auto& [key, value] : current)
    if (!wanted.contains(key) && bpf_map_delete_elem(mapFd, key.data()) != 0 && errno != ENOENT)
      return failure("deleting a stale entry");
  return okStatus();
}

Expected<size_t> syncLpmMap(int mapFd, const std::string& mapName, size_t keySize, size_t valueSize,
                            const EntryBytes& entries) {
  auto wanted = toMapContents(mapName, keySize, valueSize, entries);
  if (!wanted) return Error{wanted.error()};
  auto current = readLpmMap(mapFd, mapName, keySize, valueSize);
  if (!current) return Error{current.error()};
  if (auto applied = applyContents(mapFd, mapName, *current, *wanted); !applied)
    return Error{applied.error()};
  return wanted->size();
}

} // namespace polc::runtime
