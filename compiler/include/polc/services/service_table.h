// What a service is to the datapath (issue #20): each port of each vip is a
// frontend, and a new flow to a frontend goes to the backend its flow hash
// picks in the frontend's Maglev table. Built from the topology alone; the
// build writes it as services.json, `polc explain --to service/NAME` and
// the evaluator's tests translate flows with it.
#pragma once

#include "polc/services/maglev.h"
#include "polc/support/ip_prefix.h"
#include "polc/topology/topology.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace polc::services {

struct Backend {
  IpPrefix address;        // a host address of the vip's family
  uint16_t port = 0;       // the target port, host byte order
  uint32_t weight = 1;     // 0: drained, in no Maglev slot
  std::string endpoint;    // the endpoint's name; empty for a listed backend
  std::string key() const; // "10.0.1.12:5432": what its Maglev permutation hashes
};

struct Frontend {
  std::string service;
  IpPrefix vip;
  uint8_t protocol = 0;          // IPPROTO_TCP, _UDP or _SCTP; _ICMP(V6) for echo
  uint16_t port = 0;             // at the vip, host byte order; 0 for echo
  std::vector<Backend> backends; // sorted by address, then port
  std::optional<uint32_t> affinitySeconds;
  // Indices into `backends`, kMaglevTableSize of them; empty when no backend
  // has a weight: the datapath refuses the flow (a TCP reset or an ICMP
  // unreachable), it never black-holes it.
  std::vector<uint32_t> maglev;
  std::string text() const; // "10.96.0.5 tcp/5432", "10.96.0.5 icmp echo"
  // Echo requests to the vip (ICMP for an IPv4 vip, ICMPv6 for IPv6): the
  // backends and Maglev table of the vip's first port frontend (the lowest
  // protocol number, then port), whose map entries the datapath shares.
  bool isEcho() const;
};

struct ServiceTable {
  std::vector<Frontend> frontends; // sorted by vip, protocol, port

  const Frontend* find(const IpPrefix& vip, uint8_t protocol, uint16_t port) const;
  std::vector<const Frontend*> ofService(std::string_view name) const;
};

// Every port of every service with a vip (a range is one frontend per
// port), and an echo frontend per vip with ports. A service without a vip
// or without ports is a policy peer only.
// An endpoint backs a frontend with its first address of the vip's family
// and, for a named target port, only when it has that port.
ServiceTable buildServiceTable(const topology::Topology&);

// What each service with a vip puts in the service maps, counted without
// building a table: frontends (polc_services and polc_maglev entries) and
// backend entries (polc_backends: one per backend with a weight of each
// frontend). The echo frontend counts as one more frontend (it is one more
// polc_services entry; it has no table of its own). In topology order.
struct ServiceEntries {
  std::string service;
  size_t frontends = 0;
  size_t backends = 0;
};
std::vector<ServiceEntries> countServiceEntries(const topology::Topology&);

// The backend a new flow goes to; nullptr when the frontend has none (the
// flow is refused). Addresses and ports of `flow` as in the packet, to the
// vip (FlowTuple: network byte order).
const Backend* pickBackend(const Frontend&, const FlowTuple& flow);
// The tuple of a flow from `client`:`sport` to the frontend.
FlowTuple flowTo(const Frontend&, const IpPrefix& client, uint16_t sport);

// The artifact form, services.json (docs/artifacts.md): the frontends, one
// per line and sorted, each with its map id and its backends' (one
// polc_backends entry per backend of each frontend, so that a backend's
// entry says it is in that frontend now: what session affinity checks),
// weights and target ports; a load diffs two revisions line by line. The
// Maglev tables are not written (the loader rebuilds them: they follow
// from the backends' keys, weights and kMaglevTableSize). Nor are echo
// frontends: the one each vip's echo shares is marked "echo": true. Ids are
// hashes of what they name, stable while other frontends come and go.
std::string toJsonText(const ServiceTable&);

} // namespace polc::services
