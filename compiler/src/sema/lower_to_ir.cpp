#include "polc/sema/sema.h"

#include "polc/frontend/printer.h"
#include "polc_structs.h"

#include <netinet/in.h>

#include <algorithm>

namespace polc::sema {

namespace {

using Kind = ir::Identity::Kind;

template <typename T> void sortUnique(std::vector<T>& values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
}

void warnIfEmpty(bool empty, const ast::Selector& selector, const std::string& role,
                 Diagnostics& diagnostics) {
  if (!empty) return;
  diagnostics
      .warning("empty-selector", selector.location,
               role + " '" + ast::toText(selector) + "' matches no endpoint of the topology")
      .underline(selector.length);
}

// The identities of the program: reserved ones, one per endpoint label set,
// one per prefix (CIDRs of policy, service addresses). A prefix that is an
// endpoint's or node's own address is left out: that address keeps its
// endpoint or host identity, since cidr peers never stand for endpoints.
std::vector<ir::Identity> buildIdentities(const ast::File& file, const topology::Topology& topology,
                                          Diagnostics& diagnostics) {
  std::vector<ir::Identity> identities = {
      {POLC_IDENTITY_HOST, Kind::Reserved, {}, std::nullopt, "host"},
      {POLC_IDENTITY_WORLD, Kind::Reserved, {}, std::nullopt, "world"},
      {POLC_IDENTITY_UNKNOWN, Kind::Reserved, {}, std::nullopt, "unknown"},
      {POLC_IDENTITY_REMOTE_NODE, Kind::Reserved, {}, std::nullopt, "remote-node"},
  };
  for (const auto& [labels, id] : allocateIdentities(topology))
    identities.push_back({id, Kind::Endpoint, labels, std::nullopt, {}});

  auto prefixes = collectPrefixes(file, topology, diagnostics);
  for (const auto* endpoint : topology.allEndpoints())
    for (const auto& address : endpoint->addresses) prefixes.erase(address);
  for (const auto& node : topology.nodes)
    if (node.address) prefixes.erase(*node.address);
  for (const auto& [prefix, id] : allocatePrefixIdentities(prefixes)) {
    ir::Identity identity{id, Kind::Cidr, {}, prefix, {}};
    for (const auto& service : topology.services)
      if (service.vip == prefix) {
        identity.kind = Kind::ServiceAddress;
        identity.name = service.name;
        break;
      }
    identities.push_back(std::move(identity));
  }
  std::sort(identities.begin(), identities.end(),
            [](const auto& a, const auto& b) { return a.id < b.id; });
  return identities;
}

// Turns a rule's peer into the identities it stands for.
class PeerResolver {
public:
  PeerResolver(const std::vector<ir::Identity>& identities, const topology::Topology& topology,
               Diagnostics& diagnostics)
      : identities_(identities), topology_(topology), diagnostics_(diagnostics) {}

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
          peers.push_back(identityOfLabels(backend->labels));
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
  uint32_t identityOfLabels(const topology::Labels& labels) const {
    for (const auto& identity : identities_)
      if (identity.kind == Kind::Endpoint && identity.labels == labels) return identity.id;
    return POLC_IDENTITY_UNKNOWN; // unreachable: every endpoint has an identity
  }

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
        .warning("cidr-covers-endpoints", peer.location,
                 "this CIDR contains the addresses of endpoints (" + names +
                     "), which it does not select")
        .underline(peer.length)
        .hint("a cidr peer stands for addresses outside the cluster's endpoints; select "
              "endpoints by their labels");
  }

  const std::vector<ir::Identity>& identities_;
  const topology::Topology& topology_;
  Diagnostics& diagnostics_;
};

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

// Lowers one rule for every endpoint its policy selects.
class RuleLowering {
public:
  RuleLowering(const topology::Topology& topology, const std::vector<ir::Identity>& identities,
               Diagnostics& diagnostics)
      : topology_(topology), identities_(identities), diagnostics_(diagnostics) {
    for (const auto* endpoint : topology.allEndpoints()) endpoints_.push_back(endpoint);
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
      for (const auto& port : service->ports)
        specs.push_back({port.protocol, port.first, port.last, {}, {}, {}, rule.location, 1});
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
    if (rule.direction == ast::Direction::Ingress) {
      peersByPorts[resolveNamed(named, {&selected})] = peers;
    } else {
      for (uint32_t peer : peers)
        peersByPorts[resolveNamed(named, endpointsWithIdentity(peer))].push_back(peer);
    }
    std::vector<ir::AppliedRule> applied;
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

  std::vector<const topology::Endpoint*> endpointsWithIdentity(uint32_t id) const {
    const ir::Identity* identity = nullptr;
    for (const auto& candidate : identities_)
      if (candidate.id == id) identity = &candidate;
    std::vector<const topology::Endpoint*> found;
    if (!identity || identity->kind != Kind::Endpoint) return found;
    for (const auto* endpoint : endpoints_)
      if (endpoint->labels == identity->labels) found.push_back(endpoint);
    return found;
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
        .error("named-port-differs", spec.location,
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
            .warning("unresolved-named-port", spec.location,
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
  const std::vector<ir::Identity>& identities_;
  Diagnostics& diagnostics_;
  std::vector<const topology::Endpoint*> endpoints_;
  std::set<SourceLocation> resolvedSomewhere_;
  std::set<SourceLocation> reported_;
};

} // namespace

std::optional<ir::Program> lowerToIr(const ast::File& file, const topology::Topology& topology,
                                     Diagnostics& diagnostics) {
  auto errorsBefore = diagnostics.errorCount();
  ir::Program program;
  program.cluster = topology.cluster;
  program.identities = buildIdentities(file, topology, diagnostics);
  if (diagnostics.errorCount() > errorsBefore) return std::nullopt;

  const auto sources = topology.allEndpoints();
  std::vector<ir::Endpoint> endpoints;
  for (const auto* endpoint : sources) {
    ir::Endpoint e;
    e.name = endpoint->name;
    e.node = endpoint->node;
    e.interface = endpoint->interface;
    for (const auto& identity : program.identities)
      if (identity.kind == Kind::Endpoint && identity.labels == endpoint->labels)
        e.identity = identity.id;
    e.addresses = endpoint->addresses;
    endpoints.push_back(std::move(e));
  }
  auto select = [&](const ast::Selector* selector) {
    std::vector<size_t> selected;
    for (size_t i = 0; i < sources.size(); ++i)
      if (!selector || matches(*selector, sources[i]->labels)) selected.push_back(i);
    return selected;
  };

  for (const auto& defaults : file.defaults) {
    auto selected = select(defaults.selector.get());
    if (defaults.selector)
      warnIfEmpty(selected.empty(), *defaults.selector, "the default deny selector", diagnostics);
    for (size_t i : selected)
      for (auto direction : defaults.directions) {
        endpoints[i].policy(direction).isolated = true;
        endpoints[i].policy(direction).isolatedBy.push_back(defaults.location);
      }
  }

  PeerResolver peers(program.identities, topology, diagnostics);
  RuleLowering lowering(topology, program.identities, diagnostics);
  for (const auto& policy : file.policies) {
    auto selected = select(policy.select.get());
    warnIfEmpty(selected.empty(), *policy.select, "the select of policy \"" + policy.name + "\"",
                diagnostics);
    for (const auto& block : policy.blocks) {
      for (size_t i : selected) {
        auto& direction = endpoints[i].policy(block.direction);
        direction.isolated = true; // a block, even an empty one, isolates
        direction.isolatedBy.push_back(block.location);
      }
      for (const auto& rule : block.rules) {
        ir::Rule lowered;
        lowered.id = uint32_t(program.rules.size());
        lowered.policy = policy.name;
        lowered.verdict = rule.verdict;
        lowered.direction = rule.direction;
        lowered.text = ast::toText(rule);
        lowered.location = rule.location;
        lowered.length = rule.length;
        auto rulePeers = peers.resolve(rule.peer);
        for (size_t i : selected) {
          auto applied = lowering.apply(lowered.id, rule, rulePeers, *sources[i]);
          auto& direction = endpoints[i].policy(rule.direction).rules;
          direction.insert(direction.end(), applied.begin(), applied.end());
        }
        if (!selected.empty()) lowering.warnUnresolved(rule);
        program.rules.push_back(std::move(lowered));
      }
    }
  }
  if (diagnostics.errorCount() > errorsBefore) return std::nullopt;

  std::sort(endpoints.begin(), endpoints.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  program.endpoints = std::move(endpoints);
  for (const auto& node : topology.nodes) {
    ir::Node n{node.name, node.address, {}};
    for (const auto& endpoint : node.endpoints) n.endpoints.push_back(endpoint.name);
    std::sort(n.endpoints.begin(), n.endpoints.end());
    program.nodes.push_back(std::move(n));
  }
  std::sort(program.nodes.begin(), program.nodes.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return program;
}

std::optional<ir::Program> analyze(const ast::File& file, const topology::Topology& topology,
                                   Diagnostics& diagnostics) {
  auto resolved = resolveLets(file, diagnostics);
  if (!resolved) return std::nullopt;
  checkLabelSpelling(*resolved, topology, diagnostics);
  auto program = lowerToIr(*resolved, topology, diagnostics);
  if (!program || diagnostics.hasErrors()) return std::nullopt;
  findIneffectiveRules(*program, diagnostics);
  return program;
}

} // namespace polc::sema
