#include "polc/sema/sema.h"

#include "polc_structs.h"

#include <set>

namespace polc::sema {

namespace {

constexpr uint32_t kIdentitySpace = 1u << 24; // identities are 24-bit, like Cilium's

std::string canonical(const topology::Labels& labels) {
  std::string text;
  for (const auto& [key, value] : labels) text += key + "=" + value + "\n";
  return text;
}

uint64_t fnv1a(std::string_view text) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : text) hash = (hash ^ c) * 1099511628211ull;
  return hash;
}

// Numbers keys by the hash of their text within [first, first + span),
// probing linearly on collision. Keys arrive sorted, so collisions resolve
// the same way on every run.
template <typename Key, typename TextOf>
std::map<Key, uint32_t> hashAllocate(const std::set<Key>& keys, uint32_t first, uint32_t span,
                                     TextOf textOf) {
  std::map<Key, uint32_t> numbers;
  std::set<uint32_t> taken;
  for (const auto& key : keys) {
    uint32_t slot = uint32_t(fnv1a(textOf(key)) % span);
    while (taken.contains(slot)) slot = (slot + 1) % span;
    taken.insert(slot);
    numbers[key] = first + slot;
  }
  return numbers;
}

} // namespace

std::map<topology::Labels, uint32_t> allocateIdentities(const topology::Topology& topology) {
  std::set<topology::Labels> labelSets;
  for (const auto* endpoint : topology.allEndpoints()) labelSets.insert(endpoint->labels);
  return hashAllocate(labelSets, POLC_IDENTITY_FIRST_ENDPOINT,
                      kIdentitySpace - POLC_IDENTITY_FIRST_ENDPOINT, canonical);
}

std::map<IpPrefix, uint32_t> allocatePrefixIdentities(const std::set<IpPrefix>& prefixes) {
  return hashAllocate(prefixes, POLC_IDENTITY_FIRST_PREFIX, kIdentitySpace,
                      [](const IpPrefix& prefix) { return prefix.text(); });
}

} // namespace polc::sema
