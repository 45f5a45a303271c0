#include "polc/ir/ir.h"

#include <algorithm>

namespace polc::ir {

std::string DirectionPolicy::behaviourKey() const {
  std::string key(1, char('0' + (isolated ? 1 : 0) + (auditIsolated ? 2 : 0)));
  auto append = [&](const auto& value) {
    key.append(reinterpret_cast<const char*>(&value), sizeof value);
  };
  for (const auto& applied : rules) {
    append(applied.rule);
    append(applied.peers.size());
    for (uint32_t peer : applied.peers) append(peer);
    append(applied.ports.size());
    for (const auto& range : applied.ports) {
      append(range.protocol);
      append(range.first);
      append(range.last);
    }
  }
  return key;
}

const Identity* Program::findIdentity(uint32_t id) const {
  auto it = std::lower_bound(
      identities.begin(), identities.end(), id,
      [](const Identity& identity, uint32_t value) { return identity.id < value; });
  return it != identities.end() && it->id == id ? &*it : nullptr;
}

const Endpoint* Program::findEndpoint(std::string_view name) const {
  auto it =
      std::lower_bound(endpoints.begin(), endpoints.end(), name,
                       [](const Endpoint& e, std::string_view value) { return e.name < value; });
  return it != endpoints.end() && it->name == name ? &*it : nullptr;
}

} // namespace polc::ir
