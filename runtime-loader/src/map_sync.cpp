#include "map_sync.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <set>

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

Expected<size_t> syncLpmMap(int mapFd, const std::string& mapName, size_t keySize, size_t valueSize,
                            const std::vector<std::pair<std::string, std::string>>& entries) {
  auto failure = [&](const std::string& what) {
    return Error{"map " + mapName + ": " + what + ": " + std::strerror(errno)};
  };
  std::map<std::string, std::string> wanted;
  for (const auto& [key, value] : entries) {
    if (key.size() != keySize || value.size() != valueSize)
      return Error{"map " + mapName + ": entry size does not match the map"};
    auto [it, inserted] = wanted.emplace(key, value);
    if (!inserted && it->second != value)
      return Error{"map " + mapName + ": two entries with the same key and different values"};
  }

  // Collect first, delete afterwards: deleting while walking an LPM trie
  // would restart the walk.
  std::set<std::string> present;
  std::string current(keySize, '\0'), next(keySize, '\0');
  const void* previous = nullptr;
  while (bpf_map_get_next_key(mapFd, previous, next.data()) == 0) {
    present.insert(next);
    current = next;
    previous = current.data();
  }
  if (errno != ENOENT) return failure("listing keys");

  // Write new values before deleting stale keys, so that a prefix which
  // only changes shape is covered throughout.
  for (const auto& [key, value] : wanted)
    if (bpf_map_update_elem(mapFd, key.data(), value.data(), BPF_ANY) != 0)
      return failure("writing an entry");
  for (auto key : present) {
    canonicalizeLpmKey(key.data(), keySize);
    if (wanted.contains(key)) continue;
    if (bpf_map_delete_elem(mapFd, key.data()) != 0 && errno != ENOENT)
      return failure("deleting a stale entry");
  }
  return wanted.size();
}

} // namespace polc::runtime
