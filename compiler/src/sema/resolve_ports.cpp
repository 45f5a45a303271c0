#include "resolve_ports.h"

#include "sema_support.h"

#include "polc_structs.h"

#include <netinet/in.h>

#include <algorithm>
#include <map>
#include <set>

namespace polc::sema {

namespace {

ir::L4Range rangeOf(const ast::PortSpec& spec) {
  if (spec.protocol == IPPROTO_ICMP || spec.protocol == IPPROTO_ICMPV6) {
    if (!spec.icmpType) return {spec.protocol, 0, 65535};
    uint16_t type = uint16_t(*spec.icmpType << 8);
    if (!spec.icmpCode) return {spec.protocol, type, uint16_t(type | 0xff)};
    return {spec.protocol, uint16_t(type | *spec.icmpCode), uint16_t(type | *spec.icmpCode)};
  }
  return {spec.protocol, spec.first, spec.last};
}

// A named port of one destination endpoint, if it has it for this protocol.
std::optional<ir::L4Range> namedPortOf(const topology::Endpoint& endpoint,
                                       const ast::PortSpec& spec) {
  auto found = endpoint.namedPorts.find(spec.namedPort);
  if (found == endpoint.namedPorts.end() || found->second.protocol != spec.protocol)
    return std::nullopt;
  return ir::L4Range{spec.protocol, found->second.first, found->second.last};
}

} // namespace

// Lowers one rule for every endpoint its policy selects.
struct RuleLowering::Impl {
  Impl(const topology::Topology& topology, const std::vector<ir::Identity>& identities,
       Diagnostics& diagnostics)
      : topology_(topology), diagnostics_(diagnostics) {
    auto identityOf = endpointIdentityIndex(identities);
    for (const auto* endpoint : topology.allEndpoints())
      endpointsByIdentity_[identityOf.at(endpoint->labels)].push_back(endpoint);
  }

  // The applied forms of `rule` for `destinationOrSource` (the selected
  // endpoint), given its resolved peers. Nothing when the rule reaches no
  // port of it (e.g. a named port it lacks).
  std::vector<ir::AppliedRule> apply(uint32_t id, const ast::Rule& rule,
                                     const std::vector<uint32_t>& peers,
                                     const topology::Endpoint& selected) {
    std::vector<ast::PortSpec> specs = rule.ports;
    if (specs.empty() && rule.peer.kind == ast::Peer::Kind::Service) {
      const auto* service = topology_.findService(rule.peer.name);
      // Policy sees a service's flows after translation: on the backends'
      // target ports.
      for (const auto& port : service->ports) {
        auto [protocol, first, last] = port.port;
        if (port.targetPort) first = last = *port.targetPort;
        specs.push_back({protocol, first, last, port.targetName, {}, {}, rule.location, 1});
      }
    }
    if (specs.empty()) return {{id, peers, {}}};

    std::vector<ir::L4Range> fixed;
    std::vector<const ast::PortSpec*> named;
    for (const auto& spec : specs) {
      if (spec.namedPort.empty())
        fixed.push_back(rangeOf(spec));
      else
        named.push_back(&spec);
    }
    if (named.empty()) return {finish(id, peers, fixed)};

    // Named ports are those of the destination: the selected endpoint for
    // ingress, each peer for egress (peers sharing an identity must agree).
    std::map<std::vector<ir::L4Range>, std::vector<uint32_t>> peersByPorts;
    std::vector<ir::AppliedRule> applied;
    if (rule.direction == ast::Direction::Ingress) {
      peersByPorts[resolveNamed(named, {&selected})] = peers;
    } else {
      for (uint32_t peer : peers) {
        if (peer != POLC_IDENTITY_ANY) {
          peersByPorts[resolveNamed(named, endpointsWithIdentity(peer))].push_back(peer);
          continue;
        }
        // Any destination: the fixed ports for every identity, and each named
        // port on every endpoint that defines it. Other destinations have no
        // named ports, so those stay closed to them.
        if (!fixed.empty()) applied.push_back(finish(id, {POLC_IDENTITY_ANY}, fixed));
        std::map<std::vector<ir::L4Range>, std::vector<uint32_t>> endpointsByPorts;
        for (const auto& [identity, endpoints] : endpointsByIdentity_)
          if (!std::binary_search(peers.begin(), peers.end(), identity))
            endpointsByPorts[resolveNamed(named, endpoints)].push_back(identity);
        for (auto& [ports, group] : endpointsByPorts)
          if (!ports.empty()) applied.push_back(finish(id, group, ports));
      }
    }
    for (auto& [ports, group] : peersByPorts) {
      auto all = fixed;
      all.insert(all.end(), ports.begin(), ports.end());
      if (!all.empty()) applied.push_back(finish(id, group, all));
    }
    return applied;
  }

private:
  static ir::AppliedRule finish(uint32_t id, std::vector<uint32_t> peers,
                                std::vector<ir::L4Range> ports) {
    sortUnique(ports);
    return {id, std::move(peers), std::move(ports)};
  }

  // The endpoints behind an identity; none for non-endpoint identities.
  std::vector<const topology::Endpoint*> endpointsWithIdentity(uint32_t id) const {
    auto found = endpointsByIdentity_.find(id);
    return found == endpointsByIdentity_.end() ? std::vector<const topology::Endpoint*>{}
                                               : found->second;
  }

  std::vector<ir::L4Range> resolveNamed(const std::vector<const ast::PortSpec*>& named,
                                        const std::vector<const topology::Endpoint*>& ends) {
    std::vector<ir::L4Range> ranges;
    for (const auto* spec : named) {
      std::optional<ir::L4Range> agreed;
      const topology::Endpoint* first = nullptr;
      for (const auto* endpoint : ends) {
        auto range = namedPortOf(*endpoint, *spec);
        if (!first) {
          first = endpoint;
          agreed = range;
        } else if (range != agreed) {
          reportDisagreement(*spec, *first, *endpoint);
        }
      }
      if (agreed) {
        ranges.push_back(*agreed);
        resolvedSomewhere_.insert(spec->location);
      }
    }
    return ranges;
  }

  void reportDisagreement(const ast::PortSpec& spec, const topology::Endpoint& a,
                          const topology::Endpoint& b) {
    if (!reported_.insert(spec.location).second) return;
    auto describe = [&](const topology::Endpoint& endpoint) {
      auto range = namedPortOf(endpoint, spec);
      return range ? topology::toText({range->protocol, range->first, range->last})
                   : std::string("nothing");
    };
    diagnostics_
        .error(DiagnosticId::NamedPortDiffers, spec.location,
               "named port '" + spec.namedPort + "' means " + describe(a) + " on " + a.name +
                   " but " + describe(b) + " on " + b.name +
                   ", which have the same labels and so the same identity")
        .underline(spec.length)
        .hint("give both endpoints the same named ports, or write the port number")
        .note(b.location, 1, b.name + " is defined here");
  }

public:
  // Named ports that resolved on no endpoint the rule reaches.
  void warnUnresolved(const ast::Rule& rule) {
    for (const auto& spec : rule.ports)
      if (!spec.namedPort.empty() && !resolvedSomewhere_.contains(spec.location))
        diagnostics_
            .warning(DiagnosticId::UnresolvedNamedPort, spec.location,
                     "no endpoint this rule reaches defines the named port '" + spec.namedPort +
                         "' for " + protocolText(spec.protocol))
            .underline(spec.length)
            .hint("named ports come from the destination endpoint's `ports` in the topology");
  }

private:
  static std::string protocolText(uint8_t protocol) {
    return protocol == IPPROTO_TCP ? "tcp" : protocol == IPPROTO_UDP ? "udp" : "sctp";
  }

  const topology::Topology& topology_;
  Diagnostics& diagnostics_;
  std::map<uint32_t, std::vector<const topology::Endpoint*>> endpointsByIdentity_;
  std::set<SourceLocation> resolvedSomewhere_;
  std::set<SourceLocation> reported_;
};

RuleLowering::RuleLowering(const topology::Topology& topology,
                           const std::vector<ir::Identity>& identities, Diagnostics& diagnostics)
    : impl_(std::make_unique<Impl>(topology, identities, diagnostics)) {}
RuleLowering::~RuleLowering() = default;
std::vector<ir::AppliedRule> RuleLowering::apply(uint32_t id, const ast::Rule& rule,
                                                 const std::vector<uint32_t>& peers,
                                                 const topology::Endpoint& selected) {
  return impl_->apply(id, rule, peers, selected);
}
void RuleLowering::warnUnresolved(const ast::Rule& rule) {
  impl_->warnUnresolved(rule);
}

} // namespace polc::sema
