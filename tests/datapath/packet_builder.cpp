#include "packet_builder.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>

namespace polc::testing {
namespace {

constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeIpv6 = 0x86DD;
constexpr uint16_t kEtherTypeArp = 0x0806;
constexpr uint16_t kEtherTypeVlan = 0x8100;
constexpr uint8_t kProtoTcp = 6, kProtoUdp = 17, kProtoSctp = 132, kProtoIcmp = 1,
                  kProtoIcmpv6 = 58, kProtoHopByHop = 0, kProtoFragment = 44;

void put16(std::vector<uint8_t>& out, uint16_t value) {
  out.push_back(static_cast<uint8_t>(value >> 8));
  out.push_back(static_cast<uint8_t>(value));
}

void put32(std::vector<uint8_t>& out, uint32_t value) {
  put16(out, static_cast<uint16_t>(value >> 16));
  put16(out, static_cast<uint16_t>(value));
}

void parseAddress(int family, std::string_view text, uint8_t* out) {
  if (::inet_pton(family, std::string(text).c_str(), out) != 1) {
    std::cerr << "PacketBuilder: bad address " << text << "\n";
    std::abort();
  }
}

uint16_t ipv4HeaderChecksum(const uint8_t* header, size_t length) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < length; i += 2) sum += (header[i] << 8) | header[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// The one's-complement sum of 16-bit words, not yet folded.
uint32_t wordSum(const uint8_t* bytes, size_t length, uint32_t sum = 0) {
  for (size_t i = 0; i < length; i += 2)
    sum += (bytes[i] << 8) | (i + 1 < length ? bytes[i + 1] : 0);
  return sum;
}

uint16_t folded(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// The sum of the pseudo-header (none for ICMP) and the L4 segment of an IP
// packet without extension headers (`ip` points at the IP header), and where the L4
// checksum field is; nullopt for other packets.
struct L4Sum {
  uint32_t sum;
  size_t checkOffset; // from `ip`
};
std::optional<L4Sum> l4Sum(const uint8_t* ip, size_t length) {
  const bool v4 = (ip[0] >> 4) == 4;
  const size_t header = v4 ? size_t(ip[0] & 0x0f) * 4 : 40;
  const uint8_t protocol = v4 ? ip[9] : ip[6];
  const bool icmp = protocol == (v4 ? kProtoIcmp : kProtoIcmpv6);
  if (length < header || (protocol != kProtoTcp && protocol != kProtoUdp && !icmp))
    return std::nullopt;
  const size_t segment = length - header;
  uint32_t sum = 0;
  if (protocol != kProtoIcmp) { // ICMP (IPv4) alone has no pseudo-header
    sum = v4 ? wordSum(ip + 12, 8) : wordSum(ip + 8, 32);
    sum += protocol + uint32_t(segment);
  }
  sum = wordSum(ip + header, segment, sum);
  return L4Sum{sum, header + (protocol == kProtoTcp ? 16 : protocol == kProtoUdp ? 6 : 2)};
}

std::vector<uint8_t> ethernetHeader(uint16_t etherType) {
  std::vector<uint8_t> frame{0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
  put16(frame, etherType);
  return frame;
}

std::vector<uint8_t> ports(uint16_t source, uint16_t destination, size_t headerBytes) {
  std::vector<uint8_t> l4;
  put16(l4, source);
  put16(l4, destination);
  l4.resize(headerBytes, 0);
  return l4;
}

} // namespace

PacketBuilder PacketBuilder::ipv4(std::string_view source, std::string_view destination) {
  PacketBuilder builder(false);
  parseAddress(AF_INET, source, builder.source_);
  parseAddress(AF_INET, destination, builder.destination_);
  return builder;
}

PacketBuilder PacketBuilder::ipv6(std::string_view source, std::string_view destination) {
  PacketBuilder builder(true);
  parseAddress(AF_INET6, source, builder.source_);
  parseAddress(AF_INET6, destination, builder.destination_);
  return builder;
}

PacketBuilder& PacketBuilder::tcp(uint16_t sourcePort, uint16_t destinationPort) {
  protocol_ = kProtoTcp;
  l4_ = ports(sourcePort, destinationPort, 20);
  l4_[12] = 5 << 4; // data offset
  l4_[13] = 0x02;   // SYN
  return *this;
}

PacketBuilder& PacketBuilder::udp(uint16_t sourcePort, uint16_t destinationPort) {
  protocol_ = kProtoUdp;
  l4_ = ports(sourcePort, destinationPort, 8);
  l4_[4] = 0;
  l4_[5] = 8; // length
  return *this;
}

PacketBuilder& PacketBuilder::sctp(uint16_t sourcePort, uint16_t destinationPort) {
  protocol_ = kProtoSctp;
  l4_ = ports(sourcePort, destinationPort, 12);
  return *this;
}

PacketBuilder& PacketBuilder::icmp(uint8_t type, uint8_t code, uint16_t identifier) {
  protocol_ = isIpv6_ ? kProtoIcmpv6 : kProtoIcmp;
  l4_ = {type, code, 0, 0};
  put16(l4_, identifier);
  put16(l4_, 1); // sequence
  return *this;
}

PacketBuilder& PacketBuilder::icmpError(uint8_t type, uint8_t code, const PacketBuilder& about) {
  protocol_ = isIpv6_ ? kProtoIcmpv6 : kProtoIcmp;
  l4_ = {type, code, 0, 0, 0, 0, 0, 0}; // checksum, then unused / MTU / pointer
  auto frame = about.build();
  size_t ipStart = about.vlan_ ? 18 : 14; // after the Ethernet header (and tag)
  l4_.insert(l4_.end(), frame.begin() + static_cast<std::ptrdiff_t>(ipStart), frame.end());
  return *this;
}

PacketBuilder& PacketBuilder::protocol(uint8_t number, size_t payloadBytes) {
  protocol_ = number;
  l4_.assign(payloadBytes, 0xab);
  return *this;
}

PacketBuilder& PacketBuilder::fragmentOffset(uint16_t units) {
  fragmentOffset_ = units;
  return *this;
}

PacketBuilder& PacketBuilder::hopByHopHeader(uint8_t lengthUnits) {
  hopByHop_ = true;
  hopByHopUnits_ = lengthUnits;
  return *this;
}

PacketBuilder& PacketBuilder::hopLimit(uint8_t limit) {
  hopLimit_ = limit;
  return *this;
}

PacketBuilder& PacketBuilder::vlan(uint16_t id) {
  vlan_ = id;
  return *this;
}

std::vector<uint8_t> PacketBuilder::build() const {
  std::vector<uint8_t> ip;
  if (!isIpv6_) {
    const size_t totalLength = 20 + l4_.size();
    ip.push_back(0x45); // version 4, IHL 5
    ip.push_back(0);
    put16(ip, static_cast<uint16_t>(totalLength));
    put16(ip, 0x1234); // identification
    put16(ip, static_cast<uint16_t>(fragmentOffset_ & 0x1fff));
    ip.push_back(hopLimit_);
    ip.push_back(protocol_);
    put16(ip, 0); // checksum, filled below
    ip.insert(ip.end(), source_, source_ + 4);
    ip.insert(ip.end(), destination_, destination_ + 4);
    const uint16_t checksum = ipv4HeaderChecksum(ip.data(), ip.size());
    ip[10] = static_cast<uint8_t>(checksum >> 8);
    ip[11] = static_cast<uint8_t>(checksum);
  } else {
    // Extension headers in order: hop-by-hop, fragment, then L4.
    std::vector<uint8_t> extensions;
    std::vector<uint8_t> chain; // next-header values after the fixed header
    if (hopByHop_) chain.push_back(kProtoHopByHop);
    if (fragmentOffset_ != 0) chain.push_back(kProtoFragment);
    chain.push_back(protocol_);
    for (size_t i = 0; i + 1 < chain.size(); ++i) {
      const uint8_t next = chain[i + 1];
      if (chain[i] == kProtoHopByHop) {
        // Next header, length, then PadN options (type 1, length, zeros)
        // filling the rest; a last single byte is a Pad1 (type 0).
        extensions.insert(extensions.end(), {next, hopByHopUnits_});
        size_t padding = (size_t(hopByHopUnits_) + 1) * 8 - 2;
        while (padding > 0) {
          if (padding == 1) {
            extensions.push_back(0);
            break;
          }
          const size_t zeros = std::min<size_t>(padding - 2, 255);
          extensions.insert(extensions.end(), {1, static_cast<uint8_t>(zeros)});
          extensions.insert(extensions.end(), zeros, 0);
          padding -= zeros + 2;
        }
      } else {
        extensions.insert(extensions.end(), {next, 0});
        put16(extensions, static_cast<uint16_t>(fragmentOffset_ << 3));
        put32(extensions, 0x42); // identification
      }
    }
    const size_t payloadLength = extensions.size() + l4_.size();
    put32(ip, 0x60000000); // version 6
    put16(ip, static_cast<uint16_t>(payloadLength));
    ip.push_back(chain.front());
    ip.push_back(hopLimit_);
    ip.insert(ip.end(), source_, source_ + 16);
    ip.insert(ip.end(), destination_, destination_ + 16);
    ip.insert(ip.end(), extensions.begin(), extensions.end());
  }
  ip.insert(ip.end(), l4_.begin(), l4_.end());
  if (checksummed_)
    if (auto sum = l4Sum(ip.data(), ip.size())) {
      uint16_t checksum = static_cast<uint16_t>(~folded(sum->sum));
      if (checksum == 0) checksum = 0xffff; // UDP: 0 means none
      ip[sum->checkOffset] = static_cast<uint8_t>(checksum >> 8);
      ip[sum->checkOffset + 1] = static_cast<uint8_t>(checksum);
    }

  const uint16_t etherType = isIpv6_ ? kEtherTypeIpv6 : kEtherTypeIpv4;
  std::vector<uint8_t> frame;
  if (vlan_) {
    frame = ethernetHeader(kEtherTypeVlan);
    put16(frame, *vlan_ & 0x0fff);
    put16(frame, etherType);
  } else {
    frame = ethernetHeader(etherType);
  }
  frame.insert(frame.end(), ip.begin(), ip.end());
  return frame;
}

std::vector<uint8_t> arpRequest() {
  std::vector<uint8_t> frame = ethernetHeader(kEtherTypeArp);
  frame[0] = frame[1] = frame[2] = frame[3] = frame[4] = frame[5] = 0xff; // broadcast
  put16(frame, 1);                                                        // hardware type Ethernet
  put16(frame, 0x0800);                                                   // protocol IPv4
  frame.push_back(6);
  frame.push_back(4);
  put16(frame, 1); // request
  frame.insert(frame.end(), {0x02, 0, 0, 0, 0, 0x01, 10, 0, 0, 1});
  frame.insert(frame.end(), {0, 0, 0, 0, 0, 0, 10, 0, 0, 2});
  return frame;
}

PacketBuilder& PacketBuilder::checksummed() {
  checksummed_ = true;
  return *this;
}

std::string checksumProblems(std::span<const uint8_t> frame) {
  if (frame.size() < 14 + 20) return "too short";
  const uint8_t* ip = frame.data() + 14;
  const size_t length = frame.size() - 14;
  std::string problems;
  if ((ip[0] >> 4) == 4 && folded(wordSum(ip, size_t(ip[0] & 0x0f) * 4)) != 0xffff)
    problems += "IPv4 header checksum; ";
  auto sum = l4Sum(ip, length);
  if (!sum) return problems + "not TCP, UDP, ICMP or ICMPv6";
  const bool noUdpChecksum = (ip[0] >> 4) == 4 && ip[9] == kProtoUdp && ip[sum->checkOffset] == 0 &&
                             ip[sum->checkOffset + 1] == 0;
  if (!noUdpChecksum && folded(sum->sum) != 0xffff) problems += "L4 checksum";
  return problems;
}

std::vector<uint8_t> truncated(std::vector<uint8_t> frame, size_t length) {
  if (length < frame.size()) frame.resize(length);
  return frame;
}

} // namespace polc::testing
