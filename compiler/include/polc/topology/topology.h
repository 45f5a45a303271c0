// The topology model: what the cluster looks like (namespaces, nodes,
// endpoints, services, CIDR groups), read from YAML by loadFile().
// Everything here is validated: addresses are canonical, references resolve.
#pragma once

#include "polc/services/maglev.h"
#include "polc/support/ip_prefix.h"
#include "polc/support/source_location.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace polc::topology {

using Labels = std::map<std::string, std::string>;

// Reserved label keys. An endpoint in namespace N carries
// `namespace=N` and, for each label k=v of N, `namespace.k=v`, so that
// selectors can scope by namespace exactly like Kubernetes NetworkPolicy.
// Topology labels may not use these keys themselves.
inline constexpr std::string_view kNamespaceLabel = "namespace";
inline constexpr std::string_view kNamespaceLabelPrefix = "namespace.";

// A protocol and port, or an inclusive range, e.g. tcp/8080 or tcp/8000-8999.
struct PortRange {
  uint8_t protocol = 0; // IPPROTO_TCP, _UDP or _SCTP
  uint16_t first = 0;
  uint16_t last = 0;
  auto operator<=>(const PortRange&) const = default;
};

// Parses "tcp/8080" or "udp/53-55"; nullopt with a message otherwise.
std::optional<PortRange> parsePortRange(const std::string& text, std::string* error = nullptr);
std::string toText(const PortRange&);

struct Namespace {
  std::string name;
  Labels labels;
  SourceLocation location;
};

struct Endpoint {
  std::string name;
  std::string node;      // owning node's name
  std::string nameSpace; // empty: no namespace
  // The labels as written plus the reserved namespace labels: what
  // selectors see and what the identity is derived from.
  Labels labels;
  std::vector<IpPrefix> addresses;             // host prefixes, IPv4 and IPv6, in file order
  std::string interface;                       // host-side interface name, at most 15 characters
  std::map<std::string, PortRange> namedPorts; // "http" -> tcp/8080 (single ports)
  SourceLocation location;
};

struct Node {
  std::string name;
  std::optional<IpPrefix> address; // a host address, when given
  std::vector<Endpoint> endpoints; // in file order
  SourceLocation location;
};

// A port of a service: where clients connect (at the vip), and where the
// backends listen: a fixed port, a named port of each backend, or, with
// neither, the same port.
struct ServicePort {
  PortRange port;
  std::optional<uint16_t> targetPort;
  std::string targetName; // a named port of each backend
  SourceLocation location;
};

// A backend written out in the topology (`backends:`), for backends outside
// the cluster, instead of picked by a selector.
struct ServiceBackend {
  IpPrefix address; // a host address
  uint32_t weight = 1;
  SourceLocation location;
};

// Weights range over 0 (drained: no new flows) .. kMaxBackendWeight.
inline constexpr uint32_t kMaxBackendWeight = services::kMaxMaglevWeight;
inline constexpr uint32_t kDefaultAffinitySeconds = 10800; // as Kubernetes: 3 hours
inline constexpr uint32_t kMaxAffinitySeconds = 86400;

struct Service {
  std::string name;
  std::string nameSpace;          // empty: no namespace
  std::optional<IpPrefix> vip;    // a host address, when given
  std::vector<ServicePort> ports; // may be empty: every port
  Labels selector; // equality on every pair; scoped to nameSpace when set; empty with backendList
  std::vector<ServiceBackend> backendList; // the explicit backends, when there is no selector
  std::map<std::string, uint32_t> weights; // selected backends by endpoint name; default 1
  std::optional<uint32_t> affinitySeconds; // session affinity by client address
  SourceLocation location;

  // The target of `port` on a backend with these named ports; nullopt when
  // the backend lacks the named target port.
  std::optional<uint16_t> targetOn(const ServicePort& port,
                                   const std::map<std::string, PortRange>& namedPorts) const;
  uint32_t weightOf(const Endpoint&) const;
};

struct Group {
  std::string name;
  std::vector<IpPrefix> cidrs;
  SourceLocation location;
};

struct Topology {
  std::string cluster;
  std::string file;
  std::vector<Namespace> namespaces; // in file order
  std::vector<Node> nodes;           // in file order
  std::vector<Service> services;     // in file order
  std::vector<Group> groups;         // in file order

  // Every endpoint of the cluster, in file order.
  std::vector<const Endpoint*> allEndpoints() const;
  const Service* findService(std::string_view name) const;
  const Group* findGroup(std::string_view name) const;
  // Whether some service has a vip and ports: then the datapath translates
  // (services/service_table.h).
  bool hasFrontends() const;
  // The endpoints a service's selector picks (in its namespace), file order.
  std::vector<const Endpoint*> backends(const Service&) const;
};

} // namespace polc::topology
