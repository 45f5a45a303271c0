// Random first packets for the differential tests, biased to the edges of
// what a compiled program distinguishes: the ends of port ranges and of the
// port prefixes they become (and one past them), the first and last address
// of every prefix in the ipcache (and one outside), endpoint, node and
// service addresses, random world addresses, every protocol; and flows to
// the services' frontends, which the datapath translates.
#pragma once

#include "polc/ir/ir.h"
#include "polc/services/service_table.h"
#include "polc/support/ip_prefix.h"

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace polc::difftest {

struct TestPacket {
  const ir::Endpoint* endpoint = nullptr; // whose program judges it
  // Egress: the endpoint sends it (polc_from_ep, tc ingress hook).
  // Ingress: the endpoint receives it (polc_to_ep, tc egress hook).
  ast::Direction direction = ast::Direction::Egress;
  IpPrefix source, destination;                 // host addresses of one family
  uint8_t protocol = 0;                         // IPPROTO_*, or any other number
  uint16_t sourcePort = 0, destinationPort = 0; // TCP, UDP, SCTP
  // ICMP/ICMPv6 type and code; for a protocol number the datapath parses as
  // ICMP in the other family (1 in IPv6, 58 in IPv4) the payload bytes.
  uint8_t icmpType = 0, icmpCode = 0;
  uint16_t icmpIdentifier = 0;
  bool hopByHop = false; // IPv6: a hop-by-hop extension header before L4

  // Does the datapath open a conntrack entry when it lets this through?
  bool opensConnection() const;
  // The reply a peer would send to it (addresses and ports swapped, an echo
  // reply for an echo request), judged by the endpoint's other program.
  TestPacket reply() const;

  bool hasPorts() const;  // TCP, UDP, SCTP
  bool isOwnIcmp() const; // ICMP in IPv4, ICMPv6 in IPv6
  const IpPrefix& peer() const {
    return direction == ast::Direction::Egress ? destination : source;
  }
  // The 16-bit value policy tables key on (evaluator::l4Value).
  uint16_t l4Value() const;
  // An Ethernet frame for BPF_PROG_TEST_RUN.
  std::vector<uint8_t> frame() const;
  // "ep-1 egress (polc_from_ep): 10.1.0.5 -> 10.96.0.1 tcp 40000 -> 80"
  std::string describe() const;
};

class PacketGenerator {
public:
  // `services` (the frontends flows are sent to) must outlive the generator.
  PacketGenerator(const ir::Program&, const services::ServiceTable& services, uint64_t seed);
  // A packet for `endpoint`, direction chosen at random.
  TestPacket next(const ir::Endpoint& endpoint);

private:
  IpPrefix peerAddress(const ir::Endpoint&, uint8_t family);
  IpPrefix worldAddress(uint8_t family);
  uint16_t port(uint8_t protocol);
  int uniform(int low, int high) { return std::uniform_int_distribution<int>(low, high)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }

  const ir::Program& program_;
  std::mt19937_64 rng_;
  std::map<uint8_t, std::vector<IpPrefix>> endpointAddresses_, nodeAddresses_, prefixEdges_;
  std::map<uint8_t, std::vector<uint16_t>> l4Edges_; // per protocol: values at range edges
  // Per family: the frontends of the protocols the datapath translates.
  std::map<uint8_t, std::vector<const services::Frontend*>> frontends_;
};

} // namespace polc::difftest
