#include "polc/maps/map_encoding.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <set>

namespace polc::maps {
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

Expected<polc_ipcache_key> ipcacheKey(std::string_view prefix) {
  const auto slash = prefix.find('/');
  const std::string address(prefix.substr(0, slash));
  unsigned char bytes[16] = {};
  uint8_t family = POLC_FAMILY_IPV4;
  unsigned maxBits = 32;
  if (::inet_pton(AF_INET, address.c_str(), bytes) != 1) {
    if (::inet_pton(AF_INET6, address.c_str(), bytes) != 1)
      return Error{"not an IP prefix: " + std::string(prefix)};
    family = POLC_FAMILY_IPV6;
    maxBits = 128;
  }
  unsigned bits = maxBits;
  if (slash != std::string_view::npos) {
    const std::string length(prefix.substr(slash + 1));
    char* end = nullptr;
    const unsigned long parsed = std::strtoul(length.c_str(), &end, 10);
    if (length.empty() || *end != '\0' || parsed > maxBits)
      return Error{"bad prefix length in " + std::string(prefix)};
    bits = static_cast<unsigned>(parsed);
  }
  return ipcacheKey(family, bytes, static_cast<uint8_t>(bits));
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

polc_policy_key policyKey(const artifacts::PolicyEntry& entry) {
  return policyKey(entry.identity, entry.protocol, entry.keyPrefixLength(), entry.port);
}

polc_policy_value policyValue(const artifacts::PolicyEntry& entry) {
  polc_policy_value value{};
  value.verdict = static_cast<__u8>(entry.verdict);
  value.rule_id = entry.ruleId;
  return value;
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
  for (const auto& entry : table.entries)
    entries.emplace_back(policyKey(entry), policyValue(entry));
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

ContentChange diffContents(const MapContents& before, const MapContents& after) {
  ContentChange change;
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

polc_ipcache_lengths ipcacheLengths(std::initializer_list<const MapContents*> contents) {
  artifacts::PrefixLengths lengths;
  for (const auto* map : contents)
    for (const auto& [bytes, value] : *map) {
      polc_ipcache_key key{};
      std::memcpy(&key, bytes.data(), std::min(bytes.size(), sizeof key));
      (key.family == POLC_FAMILY_IPV6 ? lengths.ipv6 : lengths.ipv4).push_back(key.prefixlen);
    }
  return ipcacheLengths({&lengths});
}

polc_ipcache_lengths ipcacheLengths(std::initializer_list<const artifacts::PrefixLengths*> lists) {
  std::set<int, std::greater<>> v4, v6;
  for (const auto* list : lists) {
    v4.insert(list->ipv4.begin(), list->ipv4.end());
    v6.insert(list->ipv6.begin(), list->ipv6.end());
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

uint32_t policyMapCapacity(size_t entries) {
  uint32_t capacity = kPolicyMapMinEntries;
  while (capacity < POLC_POLICY_MAX_ENTRIES && capacity < 2 * entries) capacity *= 2;
  return std::min<uint32_t>(capacity, POLC_POLICY_MAX_ENTRIES);
}

bool updateFitsInPlace(uint32_t capacity, std::optional<uint64_t> liveEntries,
                       size_t wantedEntries) {
  return liveEntries.value_or(capacity) + wantedEntries <= capacity;
}

} // namespace polc::maps
