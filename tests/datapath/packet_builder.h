// Crafts Ethernet frames for BPF_PROG_TEST_RUN: IPv4/IPv6 with TCP, UDP,
// SCTP, ICMP, ICMPv6 or a bare protocol, plus ARP. Only what the datapath
// reads is meaningful; L4 checksums are left zero.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace polc::testing {

class PacketBuilder {
public:
  // Addresses in text form; an unparseable address is a test bug and aborts.
  static PacketBuilder ipv4(std::string_view source, std::string_view destination);
  static PacketBuilder ipv6(std::string_view source, std::string_view destination);

  PacketBuilder& tcp(uint16_t sourcePort, uint16_t destinationPort);
  PacketBuilder& udp(uint16_t sourcePort, uint16_t destinationPort);
  PacketBuilder& sctp(uint16_t sourcePort, uint16_t destinationPort);
  // ICMP for IPv4 frames, ICMPv6 for IPv6 frames.
  PacketBuilder& icmp(uint8_t type, uint8_t code, uint16_t identifier = 0);
  // An ICMP (IPv4) or ICMPv6 (IPv6) error that carries `about`'s IP packet,
  // as a host or router sends it back to that packet's source.
  PacketBuilder& icmpError(uint8_t type, uint8_t code, const PacketBuilder& about);
  // A protocol whose payload the datapath does not parse (e.g. 47, GRE).
  PacketBuilder& protocol(uint8_t number, size_t payloadBytes = 8);
  // IPv4: fragment offset in 8-byte units (non-zero = non-first fragment).
  // IPv6: adds a fragment extension header with that offset.
  PacketBuilder& fragmentOffset(uint16_t units);
  // IPv6: a hop-by-hop options extension header before the L4 header, of
  // (lengthUnits + 1) * 8 bytes (its Hdr Ext Len field), padded with PadN.
  PacketBuilder& hopByHopHeader(uint8_t lengthUnits = 0);
  PacketBuilder& hopLimit(uint8_t limit);
  // Wraps the IP packet in an 802.1Q tag.
  PacketBuilder& vlan(uint16_t id);

  // Fills in the TCP or UDP checksum (without extension headers), as a
  // sender would; without it the L4 checksum is left zero.
  PacketBuilder& checksummed();

  std::vector<uint8_t> build() const;

private:
  explicit PacketBuilder(bool isIpv6) : isIpv6_(isIpv6) {}

  bool isIpv6_;
  uint8_t source_[16]{};
  uint8_t destination_[16]{};
  uint8_t protocol_ = 0;
  std::vector<uint8_t> l4_;
  uint16_t fragmentOffset_ = 0;
  bool hopByHop_ = false;
  uint8_t hopByHopUnits_ = 0;
  uint8_t hopLimit_ = 64;
  std::optional<uint16_t> vlan_;
  bool checksummed_ = false;
};

// What is wrong with a frame's IPv4 header checksum and TCP, UDP, ICMP or
// ICMPv6 checksum (a UDP checksum of 0 over IPv4 means none); empty when both
// are right.
std::string checksumProblems(std::span<const uint8_t> frame);

// An ARP request frame (ethertype 0x0806).
std::vector<uint8_t> arpRequest();

// The first `length` bytes of a frame.
std::vector<uint8_t> truncated(std::vector<uint8_t> frame, size_t length);

} // namespace polc::testing
