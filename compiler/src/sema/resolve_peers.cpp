#include "resolve_peers.h"

#include "sema_support.h"

#include "polc/sema/sema.h"
#include "polc_structs.h"

#include <algorithm>
#include <set>
#include <utility>
#include <vector>

namespace polc::sema {

namespace {
using Kind = ir::Identity::Kind;

// Values keyed by prefix, sorted by address, so that the prefixes inside a
// given one are found by a binary search and a scan of just them: a policy
// of N cidr rules resolves in O(N log N), not N x N containment tests.
template <typename Value> class PrefixIndex {
public:
  void add(const IpPrefix& prefix, Value value) { entries_.emplace_back(prefix, value); }
  void sort() {
    std::sort(entries_.begin(), entries_.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
  }
  // Calls `visit(prefix, value)` for every entry whose prefix lies inside
  // `outer`. Sorted by (family, address, length), those entries are
  // contiguous from `outer`'s own address on: they share its first
  // `outer.length` bits.
  template <typename Visit> void forEachInside(const IpPrefix& outer, Visit visit) const {
    IpPrefix first = outer;
    first.length = 0;
    auto it =
        std::lower_bound(entries_.begin(), entries_.end(), first,
                         [](const auto& entry, const IpPrefix& key) { return entry.first < key; });
    for (; it != entries_.end(); ++it) {
      IpPrefix address = it->first;
      address.length = address.maxLength();
      if (address.family != outer.family || !outer.contains(address)) break;
      if (it->first.length >= outer.length) visit(it->first, it->second);
    }
  }

private:
  std::vector<std::pair<IpPrefix, Value>> entries_;
};

bool insideAny(const std::vector<IpPrefix>& outers, const IpPrefix& prefix) {
  return std::any_of(outers.begin(), outers.end(),
                     [&](const IpPrefix& outer) { return outer.contains(prefix); });
}

} // namespace

// Turns a rule's peer into the identities it stands for.
struct PeerResolver::Impl {
  Impl(const std::vector<ir::Identity>& identities, const topology::Topology& topology,
       Diagnostics& diagnostics)
      : identities_(identities), identityOfLabels_(endpointIdentityIndex(identities)),
        topology_(topology), diagnostics_(diagnostics) {
    for (const auto& identity : identities)
      if (identity.kind == Kind::Cidr) cidrIdentities_.add(*identity.prefix, identity.id);
    cidrIdentities_.sort();
    for (const auto* endpoint : topology.allEndpoints())
      for (const auto& address : endpoint->addresses) endpointAddresses_.add(address, endpoint);
    endpointAddresses_.sort();
  }

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
        // A listed backend is an endpoint of the cluster or an address
        // outside it, which has its own prefix identity.
        for (const auto& backend : service->backendList) {
          bool inCluster = false;
          endpointAddresses_.forEachInside(backend.address, [&](const IpPrefix&, auto* endpoint) {
            peers.push_back(identityOfLabels_.at(endpoint->labels));
            inCluster = true;
          });
          if (!inCluster)
            cidrIdentities_.forEachInside(
                backend.address, [&](const IpPrefix&, uint32_t id) { peers.push_back(id); });
        }
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
    for (const auto& outer : included)
      cidrIdentities_.forEachInside(outer, [&](const IpPrefix& prefix, uint32_t id) {
        if (!insideAny(excluded, prefix)) peers.push_back(id);
      });
    return peers; // resolve() sorts and dedupes
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
    // In the topology's order, each endpoint once.
    std::set<const topology::Endpoint*> inside;
    for (const auto& outer : included)
      endpointAddresses_.forEachInside(
          outer, [&](const IpPrefix& address, const topology::Endpoint* endpoint) {
            if (!insideAny(excluded, address)) inside.insert(endpoint);
          });
    std::vector<std::string> covered;
    if (!inside.empty())
      for (const auto* endpoint : topology_.allEndpoints())
        if (inside.contains(endpoint)) covered.push_back(endpoint->name);
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
  PrefixIndex<uint32_t> cidrIdentities_;
  PrefixIndex<const topology::Endpoint*> endpointAddresses_;
};

PeerResolver::PeerResolver(const std::vector<ir::Identity>& identities,
                           const topology::Topology& topology, Diagnostics& diagnostics)
    : impl_(std::make_unique<Impl>(identities, topology, diagnostics)) {}
PeerResolver::~PeerResolver() = default;
std::vector<uint32_t> PeerResolver::resolve(const ast::Peer& peer) {
  return impl_->resolve(peer);
}

} // namespace polc::sema
