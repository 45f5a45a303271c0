#include "map_sync.h"

#include "polc/support/unique_fd.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <vector>

namespace polc::runtime {
namespace {

// The first `bits` bits of a 32-bit word, in network order.
uint32_t prefixMask(int bits) {
  if (bits <= 0) return 0;
  if (bits >= 32) return 0xffffffffu;
  return htonl(0xffffffffu << (32 - bits));
}

} // namespace

polc_ipcache_key ipcacheKey(uint8_t family, const void* address, uint8_t prefixLength) {
  polc_ipcache_key key{};
  key.family = family;
  key.prefixlen = prefixLength;
  std::memcpy(key.addr, address, family == POLC_FAMILY_IPV6 ? 16 : 4);
  for (int word = 0; word < 4; ++word) key.addr[word] &= prefixMask(prefixLength - 32 * word);
  return key;
}

uint16_t policyPortMask(uint32_t prefixLength) {
  const int portBits = static_cast<int>(prefixLength) - POLC_POLICY_PREFIX_PROTOCOL;
  return htons(static_cast<uint16_t>(ntohl(prefixMask(portBits)) >> 16));
}

polc_policy_key policyKey(uint32_t identity, uint8_t protocol, uint32_t prefixLength,
                          uint16_t port) {
  polc_policy_key key{};
  key.identity = identity;
  key.prefixlen = static_cast<uint8_t>(prefixLength);
  if (prefixLength <= POLC_POLICY_PREFIX_IDENTITY) return key; // any protocol, any port
  key.protocol = protocol;
  key.dport = htons(port) & policyPortMask(prefixLength);
  return key;
}

Expected<std::vector<IpcacheMapEntry>> toIpcacheMapEntries(const artifacts::Ipcache& ipcache) {
  std::vector<IpcacheMapEntry> entries;
  for (const auto& entry : ipcache.entries) {
    const bool ipv6 = entry.family == 6;
    unsigned char address[16] = {};
    if (::inet_pton(ipv6 ? AF_INET6 : AF_INET, entry.address.c_str(), address) != 1)
      return Error{"ipcache: \"" + entry.address + "\" is not an IPv" +
                   std::to_string(entry.family) + " address"};
    if (entry.prefixLength > (ipv6 ? 128 : 32))
      return Error{"ipcache: /" + std::to_string(entry.prefixLength) + " is not an IPv" +
                   std::to_string(entry.family) + " prefix length"};
    entries.push_back(
        {ipcacheKey(ipv6 ? POLC_FAMILY_IPV6 : POLC_FAMILY_IPV4, address, entry.prefixLength),
         polc_ipcache_value{entry.identity}});
  }
  return entries;
}

std::vector<PolicyMapEntry> toPolicyMapEntries(const artifacts::PolicyTable& table) {
  std::vector<PolicyMapEntry> entries;
  entries.reserve(table.entries.size());
  for (const auto& entry : table.entries) {
    polc_policy_value value{};
    value.verdict = static_cast<__u8>(entry.verdict);
    value.rule_id = entry.ruleId;
    entries.push_back(
        {policyKey(entry.identity, entry.protocol, entry.keyPrefixLength(), entry.port), value});
  }
  return entries;
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

Expected<MapContents> readMap(int mapFd, const std::string& mapName, size_t keySize,
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

Expected<size_t> syncMap(int mapFd, const std::string& mapName, size_t keySize, size_t valueSize,
                         const EntryBytes& entries) {
  auto wanted = toMapContents(mapName, keySize, valueSize, entries);
  if (!wanted) return Error{wanted.error()};
  auto current = readMap(mapFd, mapName, keySize, valueSize);
  if (!current) return Error{current.error()};
  if (auto applied = applyContents(mapFd, mapName, *current, *wanted); !applied)
    return Error{applied.error()};
  return wanted->size();
}

polc_ipcache_lengths ipcacheLengths(std::initializer_list<const MapContents*> contents) {
  std::set<int, std::greater<>> v4, v6;
  for (const auto* map : contents)
    for (const auto& [bytes, value] : *map) {
      polc_ipcache_key key{};
      std::memcpy(&key, bytes.data(), std::min(bytes.size(), sizeof key));
      (key.family == POLC_FAMILY_IPV6 ? v6 : v4).insert(key.prefixlen);
    }
  polc_ipcache_lengths lengths{};
  const uint32_t ones[4] = {~0u, ~0u, ~0u, ~0u};
  for (int length : v4) {
    if (length > 32 || lengths.v4_count == POLC_IPCACHE_V4_LENGTHS) continue;
    lengths.v4[lengths.v4_count] = static_cast<uint8_t>(length);
    lengths.v4_mask[lengths.v4_count++] = prefixMask(length);
  }
  for (int length : v6) {
    if (length > 128 || lengths.v6_count == POLC_IPCACHE_V6_LENGTHS) continue;
    const auto masked = ipcacheKey(POLC_FAMILY_IPV6, ones, static_cast<uint8_t>(length));
    lengths.v6[lengths.v6_count] = static_cast<uint8_t>(length);
    std::memcpy(lengths.v6_mask[lengths.v6_count++], masked.addr, sizeof masked.addr);
  }
  return lengths;
}

namespace {

Status writeIpcacheLengths(int lengthsFd, const std::string& mapName,
                           const polc_ipcache_lengths& lengths) {
  const uint32_t key = 0;
  if (bpf_map_update_elem(lengthsFd, &key, &lengths, BPF_ANY) != 0)
    return Error{"map " + mapName + ": writing its prefix lengths: " + std::strerror(errno)};
  return okStatus();
}

} // namespace

Status applyIpcache(int ipcacheFd, int lengthsFd, const std::string& mapName,
                    const MapContents& current, const MapContents& wanted) {
  if (auto written = writeIpcacheLengths(lengthsFd, mapName, ipcacheLengths({&current, &wanted}));
      !written)
    return written;
  if (auto applied = applyContents(ipcacheFd, mapName, current, wanted); !applied) return applied;
  return writeIpcacheLengths(lengthsFd, mapName, ipcacheLengths({&wanted}));
}

Expected<size_t> syncIpcache(int ipcacheFd, int lengthsFd,
                             const std::vector<IpcacheMapEntry>& entries) {
  const std::string mapName = "polc_ipcache";
  auto wanted = toMapContents(mapName, entries);
  if (!wanted) return Error{wanted.error()};
  auto current = readMap(ipcacheFd, mapName, sizeof(polc_ipcache_key), sizeof(polc_ipcache_value));
  if (!current) return Error{current.error()};
  if (auto applied = applyIpcache(ipcacheFd, lengthsFd, mapName, *current, *wanted); !applied)
    return Error{applied.error()};
  return wanted->size();
}

Expected<uint32_t> lookupIpcache(int ipcacheFd, int lengthsFd, uint8_t family,
                                 const void* address) {
  const uint32_t zero = 0;
  polc_ipcache_lengths lengths{};
  if (bpf_map_lookup_elem(lengthsFd, &zero, &lengths) != 0)
    return errno == ENOENT ? Expected<uint32_t>(POLC_IDENTITY_WORLD)
                           : Error{std::string("polc_ipcache_lengths: ") + std::strerror(errno)};
  const bool ipv6 = family == POLC_FAMILY_IPV6;
  const int count = ipv6 ? lengths.v6_count : lengths.v4_count;
  for (int i = 0; i < count; ++i) {
    auto key = ipcacheKey(family, address, ipv6 ? lengths.v6[i] : lengths.v4[i]);
    polc_ipcache_value value{};
    if (bpf_map_lookup_elem(ipcacheFd, &key, &value) == 0) return value.identity;
    if (errno != ENOENT) return Error{std::string("polc_ipcache: ") + std::strerror(errno)};
  }
  return POLC_IDENTITY_WORLD;
}

uint32_t policyMapCapacity(size_t entries) {
  uint32_t capacity = kPolicyMapMinEntries;
  while (capacity < POLC_POLICY_MAX_ENTRIES && capacity < 2 * entries) capacity *= 2;
  return std::min<uint32_t>(capacity, POLC_POLICY_MAX_ENTRIES);
}

Expected<uint32_t> mapCapacity(int mapFd) {
  bpf_map_info info{};
  uint32_t length = sizeof info;
  if (bpf_obj_get_info_by_fd(mapFd, &info, &length) != 0)
    return Error{std::string("reading a map's info: ") + std::strerror(errno)};
  return info.max_entries;
}

bool updateFitsInPlace(const std::filesystem::path& pin, std::optional<uint64_t> liveEntries,
                       size_t wantedEntries) {
  UniqueFd fd(bpf_obj_get(pin.c_str()));
  if (!fd.valid()) return true;
  auto capacity = mapCapacity(fd.get());
  if (!capacity) return false;
  return liveEntries.value_or(*capacity) + wantedEntries <= *capacity;
}

} // namespace polc::runtime
