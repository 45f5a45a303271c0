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

} // namespace

std::map<topology::Labels, uint32_t> allocateIdentities(const topology::Topology& topology) {
  std::set<topology::Labels> labelSets; // sorted: collisions resolve in a fixed order
  for (const auto* endpoint : topology.allEndpoints()) labelSets.insert(endpoint->labels);

  const uint32_t span = kIdentitySpace - POLC_IDENTITY_FIRST_ENDPOINT;
  std::map<topology::Labels, uint32_t> identities;
  std::set<uint32_t> taken;
  for (const auto& labels : labelSets) {
    uint32_t slot = uint32_t(fnv1a(canonical(labels)) % span);
    while (taken.contains(POLC_IDENTITY_FIRST_ENDPOINT + slot)) slot = (slot + 1) % span;
    taken.insert(POLC_IDENTITY_FIRST_ENDPOINT + slot);
    identities[labels] = POLC_IDENTITY_FIRST_ENDPOINT + slot;
  }
  return identities;
}

} // namespace polc::sema
