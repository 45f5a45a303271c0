#include "polc/sema/sema.h"

#include "polc/support/suggest.h"

namespace polc::sema {

namespace {

template <typename Item> std::vector<std::string> namesOf(const std::vector<Item>& items) {
  std::vector<std::string> names;
  for (const auto& item : items) names.push_back(item.name);
  return names;
}

void unknownName(Diagnostics& diagnostics, DiagnosticId id, const ast::Peer& peer,
                 const std::string& what, const std::vector<std::string>& known) {
  auto& d =
      diagnostics
          .error(id, peer.location, "no " + what + " named \"" + peer.name + "\" in the topology")
          .underline(peer.length);
  if (auto close = closestMatch(peer.name, known))
    d.hint("did you mean \"" + *close + "\"?");
  else if (known.empty())
    d.hint("the topology defines no " + what + "s");
}

} // namespace

std::set<IpPrefix> collectPrefixes(const ast::File& file, const topology::Topology& topology,
                                   Diagnostics& diagnostics) {
  std::set<IpPrefix> prefixes;
  for (const auto& service : topology.services) {
    if (service.vip) prefixes.insert(*service.vip);
    for (const auto& backend : service.backendList) prefixes.insert(backend.address);
  }
  for (const auto& policy : file.policies)
    for (const auto& block : policy.blocks)
      for (const auto& rule : block.rules) {
        const auto& peer = rule.peer;
        switch (peer.kind) {
        case ast::Peer::Kind::Cidr:
          for (const auto& [prefix, span] : peer.cidr.prefixes) prefixes.insert(prefix);
          for (const auto& [prefix, span] : peer.cidr.except) prefixes.insert(prefix);
          break;
        case ast::Peer::Kind::Group:
          if (const auto* group = topology.findGroup(peer.name))
            prefixes.insert(group->cidrs.begin(), group->cidrs.end());
          else
            unknownName(diagnostics, DiagnosticId::UnknownGroup, peer, "group",
                        namesOf(topology.groups));
          break;
        case ast::Peer::Kind::Service:
          if (!topology.findService(peer.name))
            unknownName(diagnostics, DiagnosticId::UnknownService, peer, "service",
                        namesOf(topology.services));
          break;
        case ast::Peer::Kind::Selector:
        case ast::Peer::Kind::Entity:
          break;
        }
      }
  return prefixes;
}

} // namespace polc::sema
