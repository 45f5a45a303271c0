#include "packets.h"

#include "packet_builder.h"
#include "polc/evaluator/evaluator.h"
#include "polc/passes/tables.h"
#include "polc/support/protocol.h"

#include <netinet/in.h>

#include <algorithm>
#include <set>

namespace polc::difftest {
namespace {

// Address arithmetic on the bytes of a host prefix; false on wrap-around.
bool addOne(IpPrefix& address, int delta) {
  int size = address.family == 4 ? 4 : 16;
  for (int i = size - 1; i >= 0; --i) {
    uint8_t& byte = address.bytes[size_t(i)];
    if (delta > 0) {
      if (byte++ != 0xff) return true;
    } else {
      if (byte-- != 0x00) return true;
    }
  }
  return false;
}

IpPrefix hostOf(IpPrefix prefix) {
  prefix.length = prefix.maxLength();
  return prefix;
}

IpPrefix lastOf(IpPrefix prefix) {
  for (int bit = prefix.length; bit < prefix.maxLength(); ++bit)
    prefix.bytes[size_t(bit / 8)] |= uint8_t(0x80u >> (bit % 8));
  return hostOf(prefix);
}

// Other protocols: ones without ports, and ICMP's number in the wrong family.
const std::vector<uint8_t> kOtherProtocols = {47, 50, 89, 253};

bool isIcmpNumber(uint8_t protocol) {
  return protocol == IPPROTO_ICMP || protocol == IPPROTO_ICMPV6;
}

} // namespace

bool TestPacket::hasPorts() const {
  return protocol == IPPROTO_TCP || protocol == IPPROTO_UDP || protocol == IPPROTO_SCTP;
}

bool TestPacket::isOwnIcmp() const {
  return protocol == (source.family == 4 ? uint8_t(IPPROTO_ICMP) : uint8_t(IPPROTO_ICMPV6));
}

bool TestPacket::opensConnection() const {
  if (hasPorts()) return true;
  return isOwnIcmp() && icmpType == (source.family == 4 ? 8 : 128);
}

TestPacket TestPacket::reply() const {
  TestPacket answer = *this;
  answer.direction =
      direction == ast::Direction::Egress ? ast::Direction::Ingress : ast::Direction::Egress;
  std::swap(answer.source, answer.destination);
  std::swap(answer.sourcePort, answer.destinationPort);
  if (isOwnIcmp()) answer.icmpType = source.family == 4 ? 0 : 129; // echo reply
  return answer;
}

uint16_t TestPacket::l4Value() const {
  return evaluator::l4Value(protocol, destinationPort, icmpType, icmpCode);
}

std::vector<uint8_t> TestPacket::frame() const {
  auto builder =
      source.family == 4
          ? testing::PacketBuilder::ipv4(source.addressText(), destination.addressText())
          : testing::PacketBuilder::ipv6(source.addressText(), destination.addressText());
  const uint8_t ownIcmp = source.family == 4 ? uint8_t(IPPROTO_ICMP) : uint8_t(IPPROTO_ICMPV6);
  if (hopByHop) builder.hopByHopHeader();
  builder.checksummed(); // a translated packet's must stay right
  switch (protocol) {
  case IPPROTO_TCP:
    builder.tcp(sourcePort, destinationPort); // a SYN: opens a connection
    break;
  case IPPROTO_UDP:
    builder.udp(sourcePort, destinationPort);
    break;
  case IPPROTO_SCTP:
    builder.sctp(sourcePort, destinationPort);
    break;
  default:
    if (protocol == ownIcmp)
      builder.icmp(icmpType, icmpCode, icmpIdentifier);
    else
      builder.protocol(protocol); // payload bytes 0xab: see icmpType/icmpCode
    break;
  }
  return builder.build();
}

std::string TestPacket::describe() const {
  std::string text = endpoint->name + " " + std::string(ast::toString(direction)) +
                     (direction == ast::Direction::Egress ? " (polc_from_ep, tc ingress hook): "
                                                          : " (polc_to_ep, tc egress hook): ");
  text += source.addressText() + " -> " + destination.addressText() + " " + protocolName(protocol);
  if (protocol == IPPROTO_TCP || protocol == IPPROTO_UDP || protocol == IPPROTO_SCTP) {
    text += " " + std::to_string(sourcePort) + " -> " + std::to_string(destinationPort);
    if (protocol == IPPROTO_TCP) text += " SYN";
  } else if (isIcmpNumber(protocol)) {
    bool own = protocol == (source.family == 4 ? uint8_t(IPPROTO_ICMP) : uint8_t(IPPROTO_ICMPV6));
    text += " type " + std::to_string(icmpType) + " code " + std::to_string(icmpCode);
    text += own ? " id " + std::to_string(icmpIdentifier) : " (in the other IP family)";
  }
  if (hopByHop) text += " (after a hop-by-hop header)";
  return text;
}

PacketGenerator::PacketGenerator(const ir::Program& program, const services::ServiceTable& services,
                                 uint64_t seed)
    : program_(program), rng_(seed) {
  for (const auto& frontend : services.frontends)
    if (frontend.protocol == IPPROTO_TCP || frontend.protocol == IPPROTO_UDP || frontend.isEcho())
      frontends_[frontend.vip.family].push_back(&frontend);
  for (const auto& endpoint : program.endpoints)
    for (const auto& address : endpoint.addresses)
      endpointAddresses_[address.family].push_back(address);
  for (const auto& node : program.nodes)
    if (node.address) nodeAddresses_[node.address->family].push_back(*node.address);
  // Prefixes of the ipcache beyond endpoints and nodes: CIDRs and excepts,
  // groups, service addresses. First and last address, and one outside.
  std::set<IpPrefix> edges;
  for (const auto& identity : program.identities) {
    if (!identity.prefix) continue;
    IpPrefix first = hostOf(*identity.prefix), last = lastOf(*identity.prefix);
    edges.insert(first);
    edges.insert(last);
    if (IpPrefix before = first; addOne(before, -1)) edges.insert(before);
    if (IpPrefix after = last; addOne(after, +1)) edges.insert(after);
  }
  for (const auto& edge : edges) prefixEdges_[edge.family].push_back(edge);

  // Values at the edges of every range a rule uses, and of the port
  // prefixes the tables turn ranges into.
  std::map<uint8_t, std::set<uint16_t>> values;
  auto around = [&](uint8_t protocol, uint32_t first, uint32_t last) {
    for (int64_t value : {int64_t(first) - 1, int64_t(first), int64_t(first) + 1, int64_t(last) - 1,
                          int64_t(last), int64_t(last) + 1})
      if (value >= 0 && value <= 65535) values[protocol].insert(uint16_t(value));
  };
  for (const auto& endpoint : program.endpoints)
    for (auto direction : {ast::Direction::Ingress, ast::Direction::Egress})
      for (const auto& applied : endpoint.policy(direction).rules)
        for (const auto& range : applied.ports) {
          around(range.protocol, range.first, range.last);
          for (const auto& prefix : passes::portRangeToPrefixes(range.first, range.last))
            around(range.protocol, prefix.port, prefix.port + (1u << (16 - prefix.bits)) - 1);
        }
  for (auto& [protocol, set] : values) l4Edges_[protocol].assign(set.begin(), set.end());
}

IpPrefix PacketGenerator::worldAddress(uint8_t family) {
  IpPrefix address;
  address.family = family;
  address.length = address.maxLength();
  int size = family == 4 ? 4 : 16;
  for (int i = 0; i < size; ++i) address.bytes[size_t(i)] = uint8_t(uniform(0, 255));
  // Half of the time near the cluster's own ranges, where prefixes are.
  if (chance(0.5)) {
    if (family == 4) {
      address.bytes[0] = 10;
      address.bytes[1] = uint8_t(std::vector<int>{1, 10, 96}[size_t(uniform(0, 2))]);
      address.bytes[2] = uint8_t(uniform(0, 3));
    } else {
      address.bytes = {0xfd, 0x00, 0x00,
                       uint8_t(std::vector<int>{1, 0x10, 0x96}[size_t(uniform(0, 2))])};
      address.bytes[14] = uint8_t(uniform(0, 3));
      address.bytes[15] = uint8_t(uniform(0, 255));
    }
  }
  return address;
}

IpPrefix PacketGenerator::peerAddress(const ir::Endpoint& endpoint, uint8_t family) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    int kind = uniform(0, 99);
    const std::vector<IpPrefix>* pool = nullptr;
    if (kind < 30)
      pool = &endpointAddresses_[family];
    else if (kind < 40)
      pool = &nodeAddresses_[family];
    else if (kind < 80)
      pool = &prefixEdges_[family];
    else if (kind < 85) {
      // The endpoint itself (traffic to its own address).
      for (const auto& address : endpoint.addresses)
        if (address.family == family) return address;
      continue;
    } else {
      return worldAddress(family);
    }
    if (pool->empty()) continue;
    return (*pool)[size_t(uniform(0, int(pool->size()) - 1))];
  }
  return worldAddress(family);
}

uint16_t PacketGenerator::port(uint8_t protocol) {
  int kind = uniform(0, 99);
  const auto& edges = l4Edges_[protocol];
  if (kind < 60 && !edges.empty()) return edges[size_t(uniform(0, int(edges.size()) - 1))];
  if (kind < 70) return std::vector<uint16_t>{0, 1, 65535, 65534}[size_t(uniform(0, 3))];
  return uint16_t(uniform(0, 65535));
}

TestPacket PacketGenerator::next(const ir::Endpoint& endpoint) {
  TestPacket packet;
  packet.endpoint = &endpoint;
  packet.direction = chance(0.5) ? ast::Direction::Egress : ast::Direction::Ingress;
  const IpPrefix& own = endpoint.addresses[size_t(uniform(0, int(endpoint.addresses.size()) - 1))];
  IpPrefix peer = peerAddress(endpoint, own.family);
  packet.source = packet.direction == ast::Direction::Egress ? own : peer;
  packet.destination = packet.direction == ast::Direction::Egress ? peer : own;

  // Extension headers must not change a verdict.
  packet.hopByHop = own.family == 6 && chance(0.15);
  const uint8_t ownIcmp = own.family == 4 ? uint8_t(IPPROTO_ICMP) : uint8_t(IPPROTO_ICMPV6);
  const uint8_t otherIcmp = own.family == 4 ? uint8_t(IPPROTO_ICMPV6) : uint8_t(IPPROTO_ICMP);
  int kind = uniform(0, 99);
  if (kind < 30)
    packet.protocol = IPPROTO_TCP;
  else if (kind < 50)
    packet.protocol = IPPROTO_UDP;
  else if (kind < 60)
    packet.protocol = IPPROTO_SCTP;
  else if (kind < 85)
    packet.protocol = ownIcmp;
  else if (kind < 90)
    packet.protocol = otherIcmp;
  else
    packet.protocol = kOtherProtocols[size_t(uniform(0, int(kOtherProtocols.size()) - 1))];

  if (packet.protocol == ownIcmp) {
    uint16_t value = port(packet.protocol);
    packet.icmpType = uint8_t(value >> 8);
    packet.icmpCode = uint8_t(value);
    // Echo requests are the connection-opening kind; other types are judged
    // the same way (conntrack is emptied after every packet anyway).
    if (chance(0.2)) packet.icmpType = ownIcmp == IPPROTO_ICMP ? 8 : 128;
    // Neighbour discovery is never filtered (hop limit 255); frames are sent
    // with hop limit 64, so those types are judged by policy too.
    packet.icmpIdentifier = uint16_t(uniform(0, 65535));
  } else if (isIcmpNumber(packet.protocol)) {
    packet.icmpType = packet.icmpCode = 0xab; // PacketBuilder::protocol's payload
  } else if (packet.protocol == IPPROTO_TCP || packet.protocol == IPPROTO_UDP ||
             packet.protocol == IPPROTO_SCTP) {
    packet.sourcePort = uint16_t(uniform(1, 65535));
    packet.destinationPort = port(packet.protocol);
  }
  // A new flow to a frontend: translated to its backend, or refused.
  const auto& frontends = frontends_[own.family];
  if (packet.direction == ast::Direction::Egress && !frontends.empty() && chance(0.25)) {
    const auto& frontend = *frontends[size_t(uniform(0, int(frontends.size()) - 1))];
    packet.destination = frontend.vip;
    packet.protocol = frontend.protocol;
    if (frontend.isEcho()) {
      packet.sourcePort = packet.destinationPort = 0;
      packet.icmpType = own.family == 4 ? 8 : 128; // an echo request, any code
      packet.icmpCode = uint8_t(chance(0.9) ? 0 : uniform(1, 255));
      packet.icmpIdentifier = uint16_t(uniform(0, 65535));
    } else {
      packet.sourcePort = uint16_t(uniform(1, 65535));
      packet.destinationPort = frontend.port;
    }
  }
  return packet;
}

} // namespace polc::difftest
