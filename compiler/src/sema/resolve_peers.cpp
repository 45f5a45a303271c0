#include "resolve_peers.h"

#include "sema_support.h"

#include "polc/sema/sema.h"
#include "polc_structs.h"

namespace polc::sema {

namespace {
using Kind = ir::Identity::Kind;
} // namespace

// Turns a rule's peer into the identities it stands for.
struct PeerResolver::Impl {
  Impl(const std::vector<ir::Identity>& identities, const topology::Topology& topology,
       Diagnostics& diagnostics)
      : identities_(identities), identityOfLabels_(endpointIdentityIndex(identities)),
        topology_(topology), diagnostics_(diagnostics) {}

  std::vector<uint32_t> resolve(const ast::Peer& peer) {
    std::vector<uint32_t> peers;
    switch (peer.kind) {
    case ast::Peer::Kind::Selector:
      for (const auto& identity : identities_)
        if (identity.kind == Kind::Endpoint && matches(*peer.selector, identity.labels))
          peers.push_back(identity.id);
      warnIfEmpty(peers.empty(), *peer.selector, "the peer", diagnostics_);
      break;
    case ast::Peer::Kind::Service:
      if (const auto* service = topology_.findService(peer.name)) {
        for (const auto* backend : topology_.backends(*service))
          peers.push_back(identityOfLabels_.at(backend->labels)); // every endpoint has one
        for (const auto& identity : identities_)
          if (identity.kind == Kind::ServiceAddress && identity.name == service->name)
            peers.push_back(identity.id);
      }
      break;
    case ast::Peer::Kind::Cidr: {
      std::vector<IpPrefix> included, excluded;
      for (const auto& [prefix, span] : peer.cidr.prefixes) included.push_back(prefix);
      for (const auto& [prefix, span] : peer.cidr.except) excluded.push_back(prefix);
      peers = cidrIdentities(included, excluded);
      warnIfCoversEndpoints(peer, included, excluded);
      break;
    }
    case ast::Peer::Kind::Group:
      if (const auto* group = topology_.findGroup(peer.name)) {
        peers = cidrIdentities(group->cidrs, {});
        warnIfCoversEndpoints(peer, group->cidrs, {});
      }
      break;
    case ast::Peer::Kind::Entity:
      peers = entityIdentities(peer.entity);
      break;
    }
    sortUnique(peers);
    return peers;
  }

private:
  // The ipcache maps each policy prefix to its own identity, and an address
  // to its longest prefix, so `P except E` is exactly the identities of the
  // prefixes inside some P and inside no E.
  std::vector<uint32_t> cidrIdentities(const std::vector<IpPrefix>& included,
                                       const std::vector<IpPrefix>& excluded) const {
    std::vector<uint32_t> peers;
    for (const auto& identity : identities_) {
      if (identity.kind != Kind::Cidr) continue;
      auto inside = [&](const IpPrefix& outer) { return outer.contains(*identity.prefix); };
      if (std::any_of(included.begin(), included.end(), inside) &&
          std::none_of(excluded.begin(), excluded.end(), inside))
        peers.push_back(identity.id);
    }
    return peers;
  }

  std::vector<uint32_t> entityIdentities(ast::Entity entity) const {
    std::vector<uint32_t> peers;
    switch (entity) {
    case ast::Entity::All:
      return {POLC_IDENTITY_ANY};
    case ast::Entity::Host:
      return {POLC_IDENTITY_HOST};
    case ast::Entity::World:
      peers.push_back(POLC_IDENTITY_WORLD);
      for (const auto& identity : identities_)
        if (identity.kind == Kind::Cidr) peers.push_back(identity.id);
      return peers;
    case ast::Entity::Cluster:
      peers = {POLC_IDENTITY_HOST, POLC_IDENTITY_REMOTE_NODE};
      for (const auto& identity : identities_)
        if (identity.kind == Kind::Endpoint || identity.kind == Kind::ServiceAddress)
          peers.push_back(identity.id);
      return peers;
    }
    return peers;
  }

  void warnIfCoversEndpoints(const ast::Peer& peer, const std::vector<IpPrefix>& included,
                             const std::vector<IpPrefix>& excluded) {
    std::vector<std::string> covered;
    for (const auto* endpoint : topology_.allEndpoints())
      for (const auto& address : endpoint->addresses) {
        auto inside = [&](const IpPrefix& outer) { return outer.contains(address); };
        if (std::any_of(included.begin(), included.end(), inside) &&
            std::none_of(excluded.begin(), excluded.end(), inside)) {
          covered.push_back(endpoint->name);
          break;
        }
      }
    if (covered.empty()) return;
    std::string names;
    for (size_t i = 0; i < covered.size() && i < 3; ++i) names += (i ? ", " : "") + covered[i];
    if (covered.size() > 3) names += " and " + std::to_string(covered.size() - 3) + " more";
    diagnostics_
        .warning(DiagnosticId::CidrCoversEndpoints, peer.location,
                 "this CIDR contains the addresses of endpoints (" + names +
                     "), which it does not select")
        .underline(peer.length)
        .hint("a cidr peer stands for addresses outside the cluster's endpoints; select "
              "endpoints by their labels");
  }

  const std::vector<ir::Identity>& identities_;
  const std::map<topology::Labels, uint32_t> identityOfLabels_;
  const topology::Topology& topology_;
  Diagnostics& diagnostics_;
};

PeerResolver::PeerResolver(const std::vector<ir::Identity>& identities,
                           const topology::Topology& topology, Diagnostics& diagnostics)
    : impl_(std::make_unique<Impl>(identities, topology, diagnostics)) {}
PeerResolver::~PeerResolver() = default;
std::vector<uint32_t> PeerResolver::resolve(const ast::Peer& peer) {
  return impl_->resolve(peer);
}

} // namespace polc::sema
