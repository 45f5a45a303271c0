// Packets through the endpoint programs with BPF_PROG_TEST_RUN. Each test
// loads a fresh object (fresh maps), fills the ipcache and policy tables
// directly and checks the tc verdicts.
#include "bpf_harness.h"
#include "packet_builder.h"

#include "polc/codegen/specialize_endpoint.h"

#include <bpf/bpf.h>
#include <gtest/gtest.h>

#include <algorithm>

#include <arpa/inet.h>
#include <linux/pkt_cls.h>
#include <netinet/in.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string_view>

namespace polc::testing {
namespace {

constexpr int kPass = TC_ACT_OK;
constexpr int kDrop = TC_ACT_SHOT;
constexpr const char* kFromEndpoint = "polc_from_ep"; // endpoint's egress policy
constexpr const char* kToEndpoint = "polc_to_ep";     // endpoint's ingress policy

constexpr uint32_t kEndpointIdentity = 300;
constexpr uint32_t kPeerIdentity = 400;
constexpr uint32_t kSubnetIdentity = 500;
constexpr uint32_t kNarrowSubnetIdentity = 600;
constexpr std::string_view kEndpoint = "10.0.0.1";
constexpr std::string_view kPeer = "10.0.0.2";
constexpr std::string_view kEndpoint6 = "fd00::1";
constexpr std::string_view kPeer6 = "fd00::2";
constexpr std::string_view kInternet = "8.8.8.8"; // in no ipcache prefix

constexpr uint8_t kTcp = IPPROTO_TCP, kUdp = IPPROTO_UDP, kSctp = IPPROTO_SCTP,
                  kIcmp = IPPROTO_ICMP, kIcmpv6 = IPPROTO_ICMPV6, kGre = 47;

PolicyEntry allow(uint32_t identity, uint8_t protocol, uint16_t port, unsigned bits = 16) {
  return PolicyEntry{.identity = identity,
                     .protocol = protocol,
                     .port = port,
                     .portPrefixBits = bits,
                     .verdict = POLC_VERDICT_ALLOW,
                     .ruleId = 7};
}

PolicyEntry deny(uint32_t identity, uint8_t protocol, uint16_t port, unsigned bits = 16) {
  PolicyEntry entry = allow(identity, protocol, port, bits);
  entry.verdict = POLC_VERDICT_DENY;
  entry.ruleId = 9;
  return entry;
}

class DatapathTest : public ::testing::Test {
protected:
  void SetUp() override { POLC_SKIP_UNLESS_KERNEL(kernelUnavailableReason()); }

  // Builds and loads the endpoint, and fills the ipcache every test shares.
  void load(bool egressIsolated, bool ingressIsolated) {
    load(codegen::EndpointProgramSpec{.endpoint = "web-1",
                                      .egressProgram = true,
                                      .ingressProgram = true,
                                      .egressIsolated = egressIsolated,
                                      .ingressIsolated = ingressIsolated});
  }
  // A specialized program (features of bpf/lib/polc_features.h).
  void load(codegen::EndpointProgramSpec spec) {
    spec.identity = kEndpointIdentity;
    auto loaded = BpfHarness::build(spec);
    ASSERT_TRUE(loaded) << loaded.error();
    harness_.emplace(std::move(*loaded));
    const std::map<std::string_view, uint32_t> ipcache{
        {kEndpoint, kEndpointIdentity},   {kPeer, kPeerIdentity},
        {kEndpoint6, kEndpointIdentity},  {kPeer6, kPeerIdentity},
        {"10.1.0.0/16", kSubnetIdentity}, {"10.1.2.0/24", kNarrowSubnetIdentity}};
    for (const auto& [prefix, identity] : ipcache) {
      ASSERT_TRUE(harness_->setIdentity(prefix, identity)) << prefix;
    }
  }

  void add(Direction direction, const PolicyEntry& entry) {
    Status status = harness_->addPolicy(direction, entry);
    ASSERT_TRUE(status) << status.error();
  }

  int run(const char* program, const std::vector<uint8_t>& frame) {
    auto verdict = harness_->run(program, frame);
    if (!verdict) {
      ADD_FAILURE() << verdict.error();
      return -1;
    }
    return *verdict;
  }
  int fromEndpoint(const std::vector<uint8_t>& frame) { return run(kFromEndpoint, frame); }
  int toEndpoint(const std::vector<uint8_t>& frame) { return run(kToEndpoint, frame); }

  std::optional<BpfHarness> harness_;
};

TEST_F(DatapathTest, BothProgramsPassTheVerifier) {
  for (bool egressIsolated : {false, true}) {
    for (bool ingressIsolated : {false, true}) {
      load(egressIsolated, ingressIsolated);
      for (const char* program : {kFromEndpoint, kToEndpoint}) {
        auto info = harness_->programInfo(program);
        ASSERT_TRUE(info) << info.error();
        EXPECT_GT(info->translatedInstructions, 0u);
        RecordProperty(std::string(program) + (egressIsolated ? "_eiso" : "_eopen") +
                           (ingressIsolated ? "_iiso" : "_iopen") + "_verified_insns",
                       std::to_string(info->verifiedInstructions));
      }
    }
  }
}

// The identity is not in the C (endpoints share objects): the loader sets it
// in .rodata. Read it back from the kernel's map.
TEST_F(DatapathTest, EndpointIdentityReachesTheKernelAsReadOnlyConfig) {
  load(true, true);
  auto fd = harness_->mapFd(".rodata");
  ASSERT_TRUE(fd) << fd.error();
  bpf_map_info info{};
  uint32_t infoSize = sizeof info;
  ASSERT_EQ(bpf_obj_get_info_by_fd(*fd, &info, &infoSize), 0);
  std::vector<uint8_t> value(info.value_size);
  uint32_t key = 0;
  ASSERT_EQ(bpf_map_lookup_elem(*fd, &key, value.data()), 0);
  uint32_t identity = kEndpointIdentity;
  auto* bytes = reinterpret_cast<const uint8_t*>(&identity);
  EXPECT_NE(std::search(value.begin(), value.end(), bytes, bytes + sizeof identity), value.end())
      << "identity " << kEndpointIdentity << " not in the loaded .rodata";
}

TEST_F(DatapathTest, AllowedPortPassesOtherPortDrops) {
  load(/*egressIsolated=*/true, /*ingressIsolated=*/true);
  add(Direction::Egress, allow(kPeerIdentity, kTcp, 80));
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 80).build()), kPass);
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 81).build()), kDrop);
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).udp(40000, 80).build()), kDrop);
  // The egress table does not govern ingress.
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv4(kPeer, kEndpoint).tcp(40000, 80).build()), kDrop);
}

TEST_F(DatapathTest, DeniedPortDropsInNonIsolatedDirection) {
  load(/*egressIsolated=*/false, /*ingressIsolated=*/false);
  add(Direction::Egress, deny(kPeerIdentity, kTcp, 22));
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 22).build()), kDrop);
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 23).build()), kPass);
}

TEST_F(DatapathTest, NonIsolatedDirectionPassesUnmatched) {
  load(/*egressIsolated=*/true, /*ingressIsolated=*/false);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv4(kPeer, kEndpoint).tcp(40000, 9999).build()), kPass);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv4(kInternet, kEndpoint).udp(53, 5353).build()), kPass);
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 9999).build()), kDrop);
}

TEST_F(DatapathTest, UnknownPeerHasWorldIdentity) {
  load(true, true);
  add(Direction::Egress, allow(POLC_IDENTITY_WORLD, kTcp, 443));
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kInternet).tcp(40000, 443).build()), kPass);
  // A known peer is not WORLD.
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 443).build()), kDrop);
}

TEST_F(DatapathTest, IpcacheUsesLongestPrefix) {
  load(true, true);
  add(Direction::Egress, allow(kNarrowSubnetIdentity, kTcp, 80));
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, "10.1.2.3").tcp(40000, 80).build()), kPass);
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, "10.1.3.3").tcp(40000, 80).build()), kDrop);
}

TEST_F(DatapathTest, IngressPeerIsTheSource) {
  load(true, true);
  add(Direction::Ingress, allow(kPeerIdentity, kTcp, 8080));
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv4(kPeer, kEndpoint).tcp(50000, 8080).build()), kPass);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv4(kInternet, kEndpoint).tcp(50000, 8080).build()), kDrop);
}

TEST_F(DatapathTest, WildcardPeerEntryMatchesEveryPeer) {
  load(true, true);
  add(Direction::Egress, allow(POLC_IDENTITY_ANY, kUdp, 53));
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).udp(40000, 53).build()), kPass);
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kInternet).udp(40000, 53).build()), kPass);
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kInternet).udp(40000, 54).build()), kDrop);
}

TEST_F(DatapathTest, PortPrefixCoversARange) {
  load(true, true);
  // 8000 = 0x1F40: the first 12 bits cover 8000-8015.
  add(Direction::Egress, allow(kPeerIdentity, kTcp, 8000, 12));
  for (uint16_t port : {8000, 8007, 8015}) {
    EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, port).build()), kPass)
        << port;
  }
  for (uint16_t port : {7999, 8016}) {
    EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, port).build()), kDrop)
        << port;
  }
}

TEST_F(DatapathTest, ProtocolAndIdentityWideEntries) {
  load(true, true);
  add(Direction::Egress, allow(kPeerIdentity, kSctp, 0, 0)); // every SCTP port
  add(Direction::Egress,
      PolicyEntry{.identity = kSubnetIdentity, .protocol = std::nullopt}); // everything
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).sctp(1, 38412).build()), kPass);
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).tcp(1, 38412).build()), kDrop);
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, "10.1.9.9").udp(1, 2).build()), kPass);
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, "10.1.9.9").icmp(8, 0, 1).build()), kPass);
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, "10.1.9.9").protocol(kGre).build()), kPass);
}

TEST_F(DatapathTest, PortlessProtocolMatchesOnlyProtocolWideEntries) {
  load(true, true);
  add(Direction::Egress, allow(kPeerIdentity, kGre, 0, 16)); // a port entry is meaningless for GRE
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).protocol(kGre).build()), kDrop);
  add(Direction::Egress, allow(kPeerIdentity, kGre, 0, 0));
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).protocol(kGre).build()), kPass);
}

TEST_F(DatapathTest, DenyFromWildcardBeatsExactAllow) {
  load(false, false);
  add(Direction::Egress, allow(kPeerIdentity, kTcp, 80));
  add(Direction::Egress, deny(POLC_IDENTITY_ANY, kTcp, 80));
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 80).build()), kDrop);
}

TEST_F(DatapathTest, DenyFromExactBeatsWildcardAllow) {
  load(false, false);
  add(Direction::Egress, allow(POLC_IDENTITY_ANY, kTcp, 0, 0));
  add(Direction::Egress, deny(kPeerIdentity, kTcp, 22));
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 22).build()), kDrop);
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kInternet).tcp(40000, 22).build()), kPass);
}

TEST_F(DatapathTest, ReplyPassesIsolatedDirectionOnlyAfterAllowedForward) {
  load(true, true);
  add(Direction::Egress, allow(kPeerIdentity, kTcp, 80));
  const auto request = PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 80).build();
  const auto reply = PacketBuilder::ipv4(kPeer, kEndpoint).tcp(80, 40000).build();

  EXPECT_EQ(toEndpoint(reply), kDrop) << "no forward packet yet";
  EXPECT_EQ(fromEndpoint(request), kPass);
  EXPECT_EQ(toEndpoint(reply), kPass);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv4(kPeer, kEndpoint).tcp(80, 40001).build()), kDrop);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv4(kPeer, kEndpoint).udp(80, 40000).build()), kDrop);

  polc_ct_key key{};
  key.saddr[0] = *reinterpret_cast<const uint32_t*>(&request[14 + 12]);
  key.daddr[0] = *reinterpret_cast<const uint32_t*>(&request[14 + 16]);
  key.sport = htons(40000);
  key.dport = htons(80);
  key.protocol = kTcp;
  key.family = POLC_FAMILY_IPV4;
  key.direction = POLC_CT_EGRESS;
  auto entry = harness_->conntrackEntry(key);
  ASSERT_TRUE(entry) << entry.error();
  ASSERT_TRUE(entry->has_value());
  EXPECT_EQ((*entry)->rule_id, 7u);
  EXPECT_GE((*entry)->last_seen_ns, (*entry)->created_ns);
}

TEST_F(DatapathTest, ReplyOfUnmatchedFlowFromNonIsolatedDirectionPasses) {
  load(/*egressIsolated=*/false, /*ingressIsolated=*/true);
  const auto reply = PacketBuilder::ipv4(kInternet, kEndpoint).udp(53, 33333).build();
  EXPECT_EQ(toEndpoint(reply), kDrop);
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kInternet).udp(33333, 53).build()), kPass);
  EXPECT_EQ(toEndpoint(reply), kPass);
}

TEST_F(DatapathTest, DroppedForwardOpensNoEntry) {
  load(false, true);
  add(Direction::Egress, deny(kPeerIdentity, kTcp, 80));
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 80).build()), kDrop);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv4(kPeer, kEndpoint).tcp(80, 40000).build()), kDrop);
  auto size = harness_->conntrackSize();
  ASSERT_TRUE(size) << size.error();
  EXPECT_EQ(*size, 0u);
}

TEST_F(DatapathTest, PolicyChangeStopsAnExistingFlow) {
  load(true, true);
  const PolicyEntry rule = allow(kPeerIdentity, kTcp, 80);
  add(Direction::Egress, rule);
  const auto request = PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 80).build();
  EXPECT_EQ(fromEndpoint(request), kPass);
  EXPECT_EQ(fromEndpoint(request), kPass);
  ASSERT_TRUE(harness_->removePolicy(Direction::Egress, rule)); // and bumps the epoch
  EXPECT_EQ(fromEndpoint(request), kDrop) << "the first packet after the change is judged again";
  EXPECT_EQ(fromEndpoint(request), kDrop);
}

// The conntrack entry of the request's flow, keyed as polc_from_ep keys it.
polc_ct_key egressFlowKey(const std::vector<uint8_t>& request, uint16_t sport, uint16_t dport) {
  polc_ct_key key{};
  std::memcpy(&key.saddr[0], &request[14 + 12], 4);
  std::memcpy(&key.daddr[0], &request[14 + 16], 4);
  key.sport = htons(sport);
  key.dport = htons(dport);
  key.protocol = kTcp;
  key.family = POLC_FAMILY_IPV4;
  key.direction = POLC_CT_EGRESS;
  return key;
}

TEST_F(DatapathTest, EstablishedFlowPassesOnItsEntryUntilTheEpochMoves) {
  load(true, true);
  const PolicyEntry rule = allow(kPeerIdentity, kTcp, 80);
  add(Direction::Egress, rule);
  const auto request = PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 80).build();
  const auto otherFlow = PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40001, 80).build();
  EXPECT_EQ(fromEndpoint(request), kPass);
  auto epoch = harness_->policyEpoch();
  ASSERT_TRUE(epoch) << epoch.error();
  auto entry = harness_->conntrackEntry(egressFlowKey(request, 40000, 80));
  ASSERT_TRUE(entry) << entry.error();
  ASSERT_TRUE(entry->has_value());
  EXPECT_EQ((*entry)->epoch, *epoch) << "stamped with the epoch it was judged under";

  // The table changes but the epoch does not: only the fast path can pass it.
  ASSERT_TRUE(harness_->removePolicy(Direction::Egress, rule, BpfHarness::Epoch::Keep));
  EXPECT_EQ(fromEndpoint(request), kPass) << "an established flow skips the policy lookup";
  EXPECT_EQ(fromEndpoint(otherFlow), kDrop) << "a new flow meets the table as it is";

  ASSERT_TRUE(harness_->bumpPolicyEpoch());
  EXPECT_EQ(fromEndpoint(request), kDrop) << "revoked on the first packet after the bump";
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv4(kPeer, kEndpoint).tcp(80, 40000).build()), kPass)
      << "replies still find the entry (its forward packets are what policy stops)";

  add(Direction::Egress, rule);
  EXPECT_EQ(fromEndpoint(request), kPass) << "allowed again: judged and re-stamped";
  entry = harness_->conntrackEntry(egressFlowKey(request, 40000, 80));
  ASSERT_TRUE(entry) << entry.error();
  ASSERT_TRUE(entry->has_value());
  EXPECT_EQ((*entry)->epoch, *epoch + 2);
}

TEST_F(DatapathTest, IpcacheChangeStopsAnEstablishedFlow) {
  load(true, true);
  add(Direction::Egress, allow(kPeerIdentity, kTcp, 80));
  const auto request = PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 80).build();
  EXPECT_EQ(fromEndpoint(request), kPass);
  ASSERT_TRUE(harness_->setIdentity(kPeer, kPeerIdentity + 1));
  EXPECT_EQ(fromEndpoint(request), kDrop) << "the peer is someone else now";
}

TEST_F(DatapathTest, UnmatchedFlowOfAnOpenDirectionIsJudgedAgainAfterABump) {
  load(/*egressIsolated=*/false, /*ingressIsolated=*/true);
  const auto request = PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 22).build();
  EXPECT_EQ(fromEndpoint(request), kPass) << "not isolated, nothing matches";
  add(Direction::Egress, deny(kPeerIdentity, kTcp, 22));
  EXPECT_EQ(fromEndpoint(request), kDrop);
}

TEST_F(DatapathTest, IcmpEchoReplyIsAReplyOfTheRequest) {
  load(true, true);
  add(Direction::Egress, allow(kPeerIdentity, kIcmp, 8 << 8, 8)); // echo request, any code
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv4(kPeer, kEndpoint).icmp(0, 0, 77).build()), kDrop);
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).icmp(8, 0, 77).build()), kPass);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv4(kPeer, kEndpoint).icmp(0, 0, 77).build()), kPass);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv4(kPeer, kEndpoint).icmp(0, 0, 78).build()), kDrop);
  // The peer's own echo request with the same identifier is not a reply.
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv4(kPeer, kEndpoint).icmp(8, 0, 77).build()), kDrop);
}

TEST_F(DatapathTest, IcmpIdentifierZeroOpensNoReplyPathForOtherTypes) {
  load(true, true);
  add(Direction::Egress, allow(kPeerIdentity, kIcmp, 8 << 8, 8));
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).icmp(8, 0, 0).build()), kPass);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv4(kPeer, kEndpoint).icmp(0, 0, 0).build()), kPass);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv4(kPeer, kEndpoint).icmp(8, 0, 0).build()), kDrop);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv4(kPeer, kEndpoint).icmp(3, 1, 0).build()), kDrop);
}

// Regression: ICMP errors about an allowed flow were judged by policy like
// any ICMP, so an isolated direction dropped a UDP port unreachable and the
// ICMPv6 packet-too-big that IPv6 path MTU discovery needs.
TEST_F(DatapathTest, IcmpErrorsAboutATrackedFlowPassLikeReplies) {
  load(true, true);
  add(Direction::Egress, allow(kPeerIdentity, kUdp, 53));
  add(Direction::Egress, allow(kPeerIdentity, kTcp, 443));
  add(Direction::Egress, allow(kPeerIdentity, kIcmp, 8 << 8, 8));
  const auto udp = PacketBuilder::ipv4(kEndpoint, kPeer).udp(33333, 53);
  const auto portUnreachable = PacketBuilder::ipv4(kPeer, kEndpoint).icmpError(3, 3, udp).build();
  EXPECT_EQ(toEndpoint(portUnreachable), kDrop) << "no flow yet: judged by policy";
  EXPECT_EQ(fromEndpoint(udp.build()), kPass);
  EXPECT_EQ(toEndpoint(portUnreachable), kPass);
  // From a router on the path (an address the ipcache calls world).
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv4(kInternet, kEndpoint).icmpError(11, 0, udp).build()),
            kPass);
  // About another flow, or about a packet the endpoint received: policy.
  const auto otherFlow = PacketBuilder::ipv4(kEndpoint, kPeer).udp(33334, 53);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv4(kPeer, kEndpoint).icmpError(3, 3, otherFlow).build()),
            kDrop);
  const auto inbound = PacketBuilder::ipv4(kPeer, kEndpoint).udp(53, 33333);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv4(kPeer, kEndpoint).icmpError(3, 3, inbound).build()),
            kDrop);
  // Not an error type: an echo reply needs a request of its own.
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv4(kPeer, kEndpoint).icmp(0, 0, 99).build()), kDrop);
  // An error about an echo request.
  const auto echo = PacketBuilder::ipv4(kEndpoint, kPeer).icmp(8, 0, 42);
  EXPECT_EQ(fromEndpoint(echo.build()), kPass);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv4(kPeer, kEndpoint).icmpError(3, 1, echo).build()), kPass);

  // IPv6: packet too big and port unreachable about a TCP and a UDP flow.
  add(Direction::Egress, allow(kPeerIdentity, kIcmpv6, 128 << 8, 8));
  const auto tcp6 = PacketBuilder::ipv6(kEndpoint6, kPeer6).tcp(40000, 443);
  const auto tooBig = PacketBuilder::ipv6(kPeer6, kEndpoint6).icmpError(2, 0, tcp6).build();
  EXPECT_EQ(toEndpoint(tooBig), kDrop);
  EXPECT_EQ(fromEndpoint(tcp6.build()), kPass);
  EXPECT_EQ(toEndpoint(tooBig), kPass);
  const auto udp6 = PacketBuilder::ipv6(kEndpoint6, kPeer6).udp(33333, 53);
  EXPECT_EQ(fromEndpoint(udp6.build()), kPass);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv6(kPeer6, kEndpoint6).icmpError(1, 4, udp6).build()),
            kPass);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv6(kPeer6, kEndpoint6)
                           .icmpError(1, 4, PacketBuilder::ipv6(kEndpoint6, kPeer6).udp(1, 53))
                           .build()),
            kDrop);
  // An IPv4 error type number inside ICMPv6 is not an error (3 is one in both).
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv6(kPeer6, kEndpoint6).icmpError(12, 0, udp6).build()),
            kDrop);
}

TEST_F(DatapathTest, IcmpTypeAndCodeArePolicyPort) {
  load(true, true);
  add(Direction::Ingress, allow(POLC_IDENTITY_ANY, kIcmp, (3 << 8) | 4)); // frag. needed
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv4(kPeer, kEndpoint).icmp(3, 4).build()), kPass);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv4(kPeer, kEndpoint).icmp(3, 1).build()), kDrop);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv4(kPeer, kEndpoint).icmp(11, 0).build()), kDrop);
}

TEST_F(DatapathTest, Ipv6PolicyAndReply) {
  load(true, true);
  add(Direction::Egress, allow(kPeerIdentity, kTcp, 443));
  add(Direction::Egress, allow(kPeerIdentity, kIcmpv6, 128 << 8, 8));
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv6(kEndpoint6, kPeer6).udp(40000, 443).build()), kDrop);
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv6(kEndpoint6, "2001:db8::9").tcp(40000, 443).build()),
            kDrop);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv6(kPeer6, kEndpoint6).tcp(443, 40000).build()), kDrop);
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv6(kEndpoint6, kPeer6).tcp(40000, 443).build()), kPass);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv6(kPeer6, kEndpoint6).tcp(443, 40000).build()), kPass);

  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv6(kEndpoint6, kPeer6).icmp(128, 0, 5).build()), kPass);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv6(kPeer6, kEndpoint6).icmp(129, 0, 5).build()), kPass);
}

TEST_F(DatapathTest, Ipv6ExtensionHeadersAreSkipped) {
  load(true, true);
  add(Direction::Egress, allow(kPeerIdentity, kTcp, 443));
  EXPECT_EQ(
      fromEndpoint(PacketBuilder::ipv6(kEndpoint6, kPeer6).hopByHopHeader().tcp(1, 443).build()),
      kPass);
  EXPECT_EQ(
      fromEndpoint(PacketBuilder::ipv6(kEndpoint6, kPeer6).hopByHopHeader().tcp(1, 444).build()),
      kDrop);
}

// Headers beyond POLC_DIRECT_MAX_OFFSET (1024 bytes) are copied by
// bpf_skb_load_bytes instead of read directly: the same verdicts.
TEST_F(DatapathTest, HeadersFarIntoThePacketAreReadToo) {
  load(true, true);
  add(Direction::Egress, allow(kPeerIdentity, kTcp, 443));
  const uint8_t units = 140; // a 1,128-byte option header: the ports at byte 1,182
  auto far = [&](uint16_t port) {
    return PacketBuilder::ipv6(kEndpoint6, kPeer6).hopByHopHeader(units).tcp(1, port).build();
  };
  ASSERT_GT(far(443).size(), 1024u + 4);
  EXPECT_EQ(fromEndpoint(far(443)), kPass);
  EXPECT_EQ(fromEndpoint(far(444)), kDrop);
}

TEST_F(DatapathTest, NonFirstFragmentsMatchOnlyProtocolWideEntries) {
  load(true, true);
  add(Direction::Egress, allow(kPeerIdentity, kUdp, 0, 16)); // would match port 0
  const auto ipv4Fragment = PacketBuilder::ipv4(kEndpoint, kPeer).udp(1, 2).fragmentOffset(185);
  const auto ipv6Fragment = PacketBuilder::ipv6(kEndpoint6, kPeer6).udp(1, 2).fragmentOffset(185);
  EXPECT_EQ(fromEndpoint(ipv4Fragment.build()), kDrop);
  EXPECT_EQ(fromEndpoint(ipv6Fragment.build()), kDrop);
  add(Direction::Egress, allow(kPeerIdentity, kUdp, 0, 0));
  EXPECT_EQ(fromEndpoint(ipv4Fragment.build()), kPass);
  EXPECT_EQ(fromEndpoint(ipv6Fragment.build()), kPass);
  auto size = harness_->conntrackSize();
  ASSERT_TRUE(size) << size.error();
  EXPECT_EQ(*size, 0u) << "fragments without ports open no conntrack entry";
}

TEST_F(DatapathTest, ArpPassesIsolatedDirections) {
  load(true, true);
  EXPECT_EQ(fromEndpoint(arpRequest()), kPass);
  EXPECT_EQ(toEndpoint(arpRequest()), kPass);
}

TEST_F(DatapathTest, Ipv6NeighbourDiscoveryPassesIsolatedDirections) {
  load(true, true);
  // Neighbour solicitation, hop limit 255 as RFC 4861 requires.
  const auto solicitation =
      PacketBuilder::ipv6(kPeer6, "ff02::1:ff00:1").icmp(135, 0).hopLimit(255).build();
  EXPECT_EQ(toEndpoint(solicitation), kPass);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv6(kPeer6, kEndpoint6).icmp(135, 0).hopLimit(64).build()),
            kDrop)
      << "a forwarded 'neighbour discovery' packet is not one";
}

TEST_F(DatapathTest, TruncatedL4HeaderDropsOnlyInIsolatedDirection) {
  load(/*egressIsolated=*/true, /*ingressIsolated=*/false);
  add(Direction::Egress, allow(kPeerIdentity, kTcp, 80));
  const auto tcp = PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 80).build();
  const auto tcp6 = PacketBuilder::ipv6(kEndpoint6, kPeer6).tcp(40000, 80).build();
  const auto hopByHop6 =
      PacketBuilder::ipv6(kEndpoint6, kPeer6).hopByHopHeader().tcp(1, 80).build();
  ASSERT_EQ(fromEndpoint(tcp), kPass);
  ASSERT_EQ(fromEndpoint(tcp6), kPass);

  const size_t ethernet = 14;
  const std::vector<std::vector<uint8_t>> cutFrames{
      truncated(tcp, ethernet + 20 + 2),       // inside the ports
      truncated(tcp6, ethernet + 40 + 3),      // inside the ports
      truncated(hopByHop6, ethernet + 40 + 1), // inside the extension header
  };
  for (size_t i = 0; i < cutFrames.size(); ++i) {
    EXPECT_EQ(fromEndpoint(cutFrames[i]), kDrop) << "frame " << i;
    EXPECT_EQ(toEndpoint(cutFrames[i]), kPass) << "frame " << i;
  }
  // IHL 15 announces 40 bytes of options that the frame does not have.
  auto missingOptions = tcp;
  missingOptions[14] = 0x4f;
  EXPECT_EQ(fromEndpoint(truncated(missingOptions, ethernet + 20 + 20)), kDrop);
}

// Recent kernels refuse BPF_PROG_TEST_RUN of an IP frame shorter than its IP
// header (EINVAL), so the datapath's own check is reachable only on older
// ones; either way such a frame must not pass an isolated direction.
TEST_F(DatapathTest, TruncatedIpHeaderNeverPassesIsolatedDirection) {
  load(/*egressIsolated=*/true, /*ingressIsolated=*/false);
  add(Direction::Egress, allow(POLC_IDENTITY_ANY, kTcp, 0, 0));
  const size_t ethernet = 14;
  const std::vector<std::vector<uint8_t>> cutFrames{
      truncated(PacketBuilder::ipv4(kEndpoint, kPeer).tcp(1, 80).build(), ethernet + 10),
      truncated(PacketBuilder::ipv6(kEndpoint6, kPeer6).tcp(1, 80).build(), ethernet + 39),
  };
  for (const auto& frame : cutFrames) {
    auto verdict = harness_->run(kFromEndpoint, frame);
    if (!verdict) {
      EXPECT_NE(verdict.error().find("Invalid argument"), std::string::npos) << verdict.error();
      continue;
    }
    EXPECT_EQ(*verdict, kDrop);
  }
}

TEST_F(DatapathTest, MalformedIpv4HeaderDropsInIsolatedDirection) {
  load(true, false);
  add(Direction::Egress, allow(kPeerIdentity, kTcp, 80));
  auto badIhl = PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 80).build();
  badIhl[14] = 0x44; // IHL 4 < 5
  EXPECT_EQ(fromEndpoint(badIhl), kDrop);
  EXPECT_EQ(toEndpoint(badIhl), kPass);
}

TEST_F(DatapathTest, VlanTaggedIpDropsInIsolatedDirection) {
  load(true, false);
  add(Direction::Egress, allow(kPeerIdentity, kTcp, 80));
  const auto tagged = PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 80).vlan(10).build();
  EXPECT_EQ(fromEndpoint(tagged), kDrop);
  EXPECT_EQ(toEndpoint(tagged), kPass);
}

// ---- Specialized programs (bpf/lib/polc_features.h), one test per variant ----

codegen::EndpointProgramSpec specialized(bool egressIsolated, bool ingressIsolated) {
  return codegen::EndpointProgramSpec{.endpoint = "web-1",
                                      .egressProgram = true,
                                      .ingressProgram = true,
                                      .egressIsolated = egressIsolated,
                                      .ingressIsolated = ingressIsolated};
}

// Both isolated, no rule can match an IPv6 peer: every IPv6 packet drops,
// except neighbour discovery, as the full datapath would decide it.
TEST_F(DatapathTest, WithoutIpv6BothIsolatedDropIpv6ButNeighbourDiscovery) {
  auto spec = specialized(true, true);
  spec.ipv6 = false;
  load(spec);
  add(Direction::Egress, allow(kPeerIdentity, kTcp, 80));
  add(Direction::Ingress, allow(kPeerIdentity, kTcp, 80));
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 80).build()), kPass);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv4(kPeer, kEndpoint).tcp(40000, 80).build()), kPass);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv4(kPeer, kEndpoint).tcp(40000, 81).build()), kDrop);
  // The IPv6 path is compiled out: even a peer the table would allow drops.
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv6(kEndpoint6, kPeer6).tcp(40000, 80).build()), kDrop);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv6(kPeer6, kEndpoint6).tcp(40000, 80).build()), kDrop);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv6(kPeer6, kEndpoint6).udp(53, 53).build()), kDrop);
  const auto solicitation =
      PacketBuilder::ipv6(kPeer6, "ff02::1:ff00:1").icmp(135, 0).hopLimit(255).build();
  EXPECT_EQ(toEndpoint(solicitation), kPass);
  EXPECT_EQ(fromEndpoint(solicitation), kPass);
  EXPECT_EQ(toEndpoint(arpRequest()), kPass);
  auto size = harness_->conntrackSize();
  ASSERT_TRUE(size) << size.error();
  EXPECT_EQ(*size, 2u); // the two IPv4 flows only
}

// Both open: IPv6 passes unparsed and untracked; IPv4 denies still apply.
TEST_F(DatapathTest, WithoutIpv6BothOpenPassIpv6) {
  auto spec = specialized(false, false);
  spec.ipv6 = false;
  spec.egressWildcardLookup = spec.ingressWildcardLookup = false;
  spec.ingressPeerLookup = false;
  load(spec);
  add(Direction::Egress, deny(kPeerIdentity, kTcp, 22));
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 22).build()), kDrop);
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 23).build()), kPass);
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv6(kEndpoint6, kPeer6).tcp(40000, 22).build()), kPass);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv6(kPeer6, kEndpoint6).tcp(40000, 22).build()), kPass);
  auto size = harness_->conntrackSize();
  ASSERT_TRUE(size) << size.error();
  EXPECT_EQ(*size, 1u); // the passed IPv4 flow only
}

// An open direction without denies only tracks: it never reads its table,
// and the replies of what it let out pass the isolated direction.
TEST_F(DatapathTest, TrackOnlyDirectionPassesAndTracks) {
  auto spec = specialized(false, true);
  spec.egressPeerLookup = spec.egressWildcardLookup = false;
  spec.ingressWildcardLookup = false;
  load(spec);
  add(Direction::Ingress, allow(kPeerIdentity, kTcp, 80));
  add(Direction::Egress, deny(kPeerIdentity, kTcp, 443)); // not in the code's view
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 443).build()), kPass);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv4(kPeer, kEndpoint).tcp(443, 40000).build()), kPass);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv4(kPeer, kEndpoint).tcp(443, 40001).build()), kDrop);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv4(kPeer, kEndpoint).tcp(40002, 80).build()), kPass);
  // The endpoint's reply to an allowed inbound flow opens no entry of its
  // own (it is a reply), so the next inbound packet meets policy again.
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).tcp(80, 40002).build()), kPass);
  auto size = harness_->conntrackSize();
  ASSERT_TRUE(size) << size.error();
  EXPECT_EQ(*size, 2u); // egress 40000->443 and ingress 40002->80
  // IPv6 replies through the isolated direction need conntrack: kept.
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv6(kEndpoint6, kPeer6).udp(5000, 53).build()), kPass);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv6(kPeer6, kEndpoint6).udp(53, 5000).build()), kPass);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv6(kPeer6, kEndpoint6).udp(53, 5001).build()), kDrop);
}

// Only wildcard entries: no ipcache lookup; an exact entry is never read.
TEST_F(DatapathTest, WildcardOnlyDirectionSkipsThePeerLookup) {
  auto spec = specialized(true, true);
  spec.egressPeerLookup = false;
  load(spec);
  add(Direction::Egress, allow(POLC_IDENTITY_ANY, kUdp, 53));
  add(Direction::Egress, allow(kPeerIdentity, kTcp, 80)); // not in the code's view
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).udp(5000, 53).build()), kPass);
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kInternet).udp(5000, 53).build()), kPass);
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 80).build()), kDrop);
}

// The policy maps are hashes probed once per key prefix length, longest
// first: the first hit must be what a longest-prefix match returns, across
// every kind of length (peer-wide 32, protocol-wide 48, port prefixes 49..64).
TEST_F(DatapathTest, LongestPolicyPrefixWinsAcrossLengths) {
  const std::vector<PolicyEntry> entries{
      allow(kPeerIdentity, kUdp, 0, 0) /* 48 */, deny(kPeerIdentity, kTcp, 0, 0) /* 48 */,
      allow(kPeerIdentity, kTcp, 0x1200, 8) /* 56 */, deny(kPeerIdentity, kTcp, 0x1234) /* 64 */};
  PolicyEntry peerWide{
      .identity = kPeerIdentity, .protocol = std::nullopt, .ruleId = 3}; // 32: any protocol
  auto check = [&] {
    for (const auto& entry : entries) add(Direction::Egress, entry);
    add(Direction::Egress, peerWide);
    const auto tcp = [](uint16_t port) {
      return PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, port).build();
    };
    EXPECT_EQ(fromEndpoint(tcp(0x1234)), kDrop) << "64 beats 56";
    EXPECT_EQ(fromEndpoint(tcp(0x1235)), kPass) << "56 beats 48";
    EXPECT_EQ(fromEndpoint(tcp(0x12ff)), kPass);
    EXPECT_EQ(fromEndpoint(tcp(0x1300)), kDrop) << "48 beats 32";
    EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).udp(5000, 53).build()), kPass);
    EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).icmp(8, 0, 1).build()), kPass)
        << "only 32 covers ICMP";
  };
  load(true, true); // the full program: every length
  check();
  auto spec = specialized(true, false); // the lengths of the table, as the compiler sets them
  spec.egressPolicyPrefixes = POLC_POLICY_PREFIX_BIT(64) | POLC_POLICY_PREFIX_BIT(56) |
                              POLC_POLICY_PREFIX_BIT(48) | POLC_POLICY_PREFIX_BIT(32);
  load(spec);
  check();
}

// A length left out of the specialization is never probed: the set really
// is what the program looks up (so the compiler must list every length).
TEST_F(DatapathTest, PolicyPrefixesOutsideTheSpecializationAreNotProbed) {
  auto spec = specialized(true, false);
  spec.egressPolicyPrefixes = POLC_POLICY_PREFIX_BIT(64);
  load(spec);
  add(Direction::Egress, allow(kPeerIdentity, kTcp, 80));
  add(Direction::Egress, allow(kPeerIdentity, kTcp, 0x1200, 8));
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 80).build()), kPass);
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 0x1234).build()), kDrop);
}

// The ipcache lengths are data: a prefix of a length not in use before is
// found as soon as it is added (through the lengths map), and takes
// precedence over shorter ones.
TEST_F(DatapathTest, IpcacheFindsALengthAddedLater) {
  load(true, true);
  add(Direction::Egress, allow(POLC_IDENTITY_WORLD, kTcp, 443));
  add(Direction::Egress, allow(kSubnetIdentity, kTcp, 80));
  const auto to = [](std::string_view address, uint16_t port) {
    return PacketBuilder::ipv4(kEndpoint, address).tcp(40000, port).build();
  };
  EXPECT_EQ(fromEndpoint(to("10.3.0.5", 443)), kPass) << "WORLD: no length matches";
  EXPECT_EQ(fromEndpoint(to("10.1.9.5", 80)), kPass) << "the /16";
  ASSERT_TRUE(harness_->setIdentity("10.3.0.0/20", kSubnetIdentity));
  EXPECT_EQ(fromEndpoint(to("10.3.0.5", 443)), kDrop) << "no longer WORLD";
  EXPECT_EQ(fromEndpoint(to("10.3.0.5", 80)), kPass);
  ASSERT_TRUE(harness_->setIdentity("10.1.9.0/20", kNarrowSubnetIdentity));
  EXPECT_EQ(fromEndpoint(to("10.1.9.5", 80)), kDrop) << "the /20 beats the /16";
  EXPECT_EQ(fromEndpoint(to("10.1.200.5", 80)), kPass);
}

// Only specific peers: the wildcard is never read.
TEST_F(DatapathTest, PeerOnlyDirectionSkipsTheWildcardLookup) {
  auto spec = specialized(true, true);
  spec.egressWildcardLookup = false;
  load(spec);
  add(Direction::Egress, allow(kPeerIdentity, kTcp, 80));
  add(Direction::Egress, allow(POLC_IDENTITY_ANY, kUdp, 53)); // not in the code's view
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 80).build()), kPass);
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).udp(5000, 53).build()), kDrop);
}

// Isolated without entries: no lookup at all, only replies pass.
TEST_F(DatapathTest, IsolatedDirectionWithoutEntriesDropsAllButReplies) {
  auto spec = specialized(false, true);
  spec.egressPeerLookup = spec.egressWildcardLookup = false;
  spec.ingressPeerLookup = spec.ingressWildcardLookup = false;
  load(spec);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv4(kPeer, kEndpoint).tcp(40000, 80).build()), kDrop);
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 80).build()), kPass);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv4(kPeer, kEndpoint).tcp(80, 40000).build()), kPass);
}

// A specialized program decides every packet as the full program does, for
// the tables it was specialized on: the same packets, replies included,
// through both, with the same maps (an IPv4-only ipcache, so that the
// IPv6 specializations are chosen where they apply).
struct TableCase {
  const char* name;
  bool egressIsolated, ingressIsolated;
  std::vector<PolicyEntry> egress, ingress;
};

artifacts::PolicyTable artifactsTable(const char* endpoint, artifacts::Direction direction,
                                      bool isolated, const std::vector<PolicyEntry>& entries) {
  artifacts::PolicyTable table;
  (void)endpoint, (void)direction; // the tables name neither
  table.isolated = isolated;
  for (const auto& entry : entries) table.entries.push_back(tableEntry(entry));
  return table;
}

std::vector<std::pair<const char*, std::vector<uint8_t>>> equivalencePackets() {
  const char* out = kFromEndpoint;
  const char* in = kToEndpoint;
  const std::string_view ep = kEndpoint, peer = kPeer, ep6 = kEndpoint6, peer6 = kPeer6;
  return {
      {out, PacketBuilder::ipv4(ep, peer).tcp(40000, 80).build()},
      {in, PacketBuilder::ipv4(peer, ep).tcp(80, 40000).build()},
      {in, PacketBuilder::ipv4(peer, ep).tcp(40001, 80).build()},
      {out, PacketBuilder::ipv4(ep, peer).tcp(80, 40001).build()},
      {in, PacketBuilder::ipv4(peer, ep).tcp(40002, 22).build()},
      {in, PacketBuilder::ipv4(peer, ep).tcp(40008, 81).build()},
      {in, PacketBuilder::ipv4(peer, ep).tcp(40009, 96).build()},
      {out, PacketBuilder::ipv4(ep, peer).udp(5000, 53).build()},
      {in, PacketBuilder::ipv4(peer, ep).udp(53, 5000).build()},
      {in, PacketBuilder::ipv4(kInternet, ep).tcp(40003, 80).build()},
      {out, PacketBuilder::ipv4(ep, kInternet).udp(5001, 53).build()},
      {in, PacketBuilder::ipv4(kInternet, ep).udp(53, 5001).build()},
      {out, PacketBuilder::ipv4(ep, peer).icmp(8, 0, 7).build()},
      {in, PacketBuilder::ipv4(peer, ep).icmp(0, 0, 7).build()},
      {in, PacketBuilder::ipv4(peer, ep).protocol(kGre).build()},
      {out, PacketBuilder::ipv6(ep6, peer6).tcp(40000, 80).build()},
      {in, PacketBuilder::ipv6(peer6, ep6).tcp(80, 40000).build()},
      {in, PacketBuilder::ipv6(peer6, ep6).tcp(40004, 80).build()},
      {out, PacketBuilder::ipv6(ep6, peer6).udp(5002, 53).build()},
      {in, PacketBuilder::ipv6(peer6, ep6).udp(53, 5002).build()},
      {out, PacketBuilder::ipv6(ep6, peer6).icmp(128, 0, 9).build()},
      {in, PacketBuilder::ipv6(peer6, ep6).icmp(129, 0, 9).build()},
      {in, PacketBuilder::ipv6(peer6, "ff02::1:ff00:1").icmp(135, 0).hopLimit(255).build()},
      {out, PacketBuilder::ipv6(ep6, "ff02::2").icmp(133, 0).hopLimit(255).build()},
      {in, PacketBuilder::ipv6(peer6, ep6).tcp(40005, 80).hopByHopHeader().build()},
      {in, truncated(PacketBuilder::ipv6(peer6, ep6).tcp(40006, 80).build(), 14 + 40 + 3)},
      {in, truncated(PacketBuilder::ipv4(peer, ep).tcp(40007, 80).build(), 14 + 20 + 2)},
      {out, arpRequest()},
  };
}

// More entries than even --inline-max 8 compiles in as code.
std::vector<PolicyEntry> tooManyToInline() {
  std::vector<PolicyEntry> entries{allow(kPeerIdentity, kTcp, 80)};
  for (uint16_t port = 1000; entries.size() <= 8; ++port)
    entries.push_back(allow(kPeerIdentity, kTcp, port));
  return entries;
}

// Every specialization, inline tables included, decides every packet as the
// full program with its maps does.
TEST_F(DatapathTest, SpecializedProgramsDecideAsTheFullProgram) {
  const PolicyEntry anyProtocol{.identity = kPeerIdentity, .protocol = std::nullopt, .ruleId = 5};
  const std::vector<TableCase> cases{
      {"both isolated, peer entries (no IPv6)",
       true,
       true,
       {allow(kPeerIdentity, kUdp, 53)},
       {allow(kPeerIdentity, kTcp, 80)}},
      {"ingress isolated, egress track only", false, true, {}, {allow(kPeerIdentity, kTcp, 80)}},
      {"wildcard and deny",
       true,
       true,
       {allow(POLC_IDENTITY_ANY, kUdp, 53)},
       {allow(kPeerIdentity, kTcp, 80), deny(kPeerIdentity, kTcp, 22)}},
      {"world entry keeps IPv6", true, true, {allow(POLC_IDENTITY_WORLD, kUdp, 53)}, {}},
      {"both open with a deny (no IPv6)", false, false, {}, {deny(kPeerIdentity, kTcp, 22)}},
      {"prefix lengths: the longest wins, a wildcard deny wins",
       true,
       true,
       {allow(kPeerIdentity, kUdp, 53)},
       {allow(kPeerIdentity, kTcp, 80), deny(kPeerIdentity, kTcp, 80, 12),
        allow(kPeerIdentity, kTcp, 0, 0), anyProtocol, deny(POLC_IDENTITY_ANY, kUdp, 53),
        allow(POLC_IDENTITY_ANY, kIcmp, 0, 0)}},
      {"prefix lengths 48, 49 and 64",
       true,
       true,
       {},
       {deny(kPeerIdentity, kTcp, 0, 0), allow(kPeerIdentity, kTcp, 0, 1),
        deny(kPeerIdentity, kTcp, 22)}},
      {"a table too big to inline", false, true, {}, tooManyToInline()},
  };
  artifacts::Ipcache ipcache;
  ipcache.entries = {{.family = 4, .address = "10.0.0.1", .prefixLength = 32, .identity = 300},
                     {.family = 4, .address = "10.0.0.2", .prefixLength = 32, .identity = 400}};
  for (const auto& tableCase : cases) {
    auto ingress = artifactsTable("web-1", artifacts::Direction::Ingress, tableCase.ingressIsolated,
                                  tableCase.ingress);
    auto egress = artifactsTable("web-1", artifacts::Direction::Egress, tableCase.egressIsolated,
                                 tableCase.egress);
    auto specialized = codegen::specializeEndpoint(ingress, egress, ipcache);
    ASSERT_TRUE(specialized.egressProgram) << tableCase.name;
    // polc build --inline-max 8: every table here but the last is inline.
    auto inlined = codegen::specializeEndpoint(ingress, egress, codegen::nodeShapeOf(ipcache), 8);
    auto full = specialized;
    full.egressPeerLookup = full.egressWildcardLookup = true;
    full.ingressPeerLookup = full.ingressWildcardLookup = true;
    full.egressPolicyPrefixes = full.ingressPolicyPrefixes = codegen::kAllPolicyPrefixes;
    full.ipv6 = true;
    full.egressInlineEntries = full.ingressInlineEntries = 0;
    // The same shape with the tables in their maps (polc build --inline-max 0).
    auto withMaps = codegen::specializeEndpoint(ingress, egress, codegen::nodeShapeOf(ipcache), 0);
    std::vector<std::vector<int>> verdicts;
    for (const auto& spec : {full, specialized, withMaps, inlined}) {
      InlineTables inlineTables;
      if (spec.ingressInlineEntries != 0) inlineTables.ingress = ingress.entries;
      if (spec.egressInlineEntries != 0) inlineTables.egress = egress.entries;
      auto loaded = BpfHarness::build(spec, inlineTables);
      ASSERT_TRUE(loaded) << tableCase.name << ": " << loaded.error();
      harness_.emplace(std::move(*loaded));
      ASSERT_TRUE(harness_->setIdentity(kEndpoint, kEndpointIdentity));
      ASSERT_TRUE(harness_->setIdentity(kPeer, kPeerIdentity));
      for (const auto& entry : tableCase.egress) add(Direction::Egress, entry);
      for (const auto& entry : tableCase.ingress) add(Direction::Ingress, entry);
      auto& seen = verdicts.emplace_back();
      for (const auto& [program, frame] : equivalencePackets()) seen.push_back(run(program, frame));
    }
    EXPECT_EQ(verdicts[0], verdicts[1]) << tableCase.name << ":\n"
                                        << codegen::emitEndpointC(specialized);
    EXPECT_EQ(verdicts[0], verdicts[2]) << tableCase.name << " (tables in maps)";
    EXPECT_EQ(verdicts[0], verdicts[3]) << tableCase.name << " (inline up to 8 entries):\n"
                                        << codegen::emitEndpointC(inlined);
  }
}

// ---- verdict events (bpf/lib/polc_monitor.h) --------------------------------

using maps::MonitorLevel;

uint32_t addressOf(std::string_view text) {
  in_addr address{};
  inet_pton(AF_INET, std::string(text).c_str(), &address);
  return address.s_addr;
}

class EventsTest : public DatapathTest {
protected:
  std::vector<polc_event> events() {
    auto taken = harness_->takeEvents();
    if (!taken) {
      ADD_FAILURE() << taken.error();
      return {};
    }
    return *taken;
  }
  void setLevel(MonitorLevel level, std::optional<uint32_t> ifindex = std::nullopt) {
    Status set = harness_->setMonitorLevel(level, ifindex);
    ASSERT_TRUE(set) << set.error();
  }
};

TEST_F(EventsTest, DropsAreReportedByDefaultWithTheirReason) {
  load(/*egressIsolated=*/true, /*ingressIsolated=*/true);
  add(Direction::Egress, allow(kPeerIdentity, kTcp, 80));
  add(Direction::Egress, deny(kPeerIdentity, kTcp, 22));
  const auto denied = PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 22).build();
  EXPECT_EQ(fromEndpoint(denied), kDrop);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv4(kInternet, kEndpoint).udp(53, 5353).build()), kDrop);
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 80).build()), kPass);

  auto sent = events();
  ASSERT_EQ(sent.size(), 2u) << "two drops; the allowed packet is not reported at level drops";
  const auto& rule = sent[0];
  EXPECT_EQ(rule.verdict, POLC_EVENT_VERDICT_DENIED);
  EXPECT_EQ(rule.reason, POLC_REASON_RULE);
  EXPECT_EQ(rule.rule_id, 9u);
  EXPECT_EQ(rule.direction, POLC_CT_EGRESS);
  EXPECT_EQ(rule.peer_identity, kPeerIdentity);
  EXPECT_EQ(rule.family, POLC_FAMILY_IPV4);
  EXPECT_EQ(rule.protocol, kTcp);
  EXPECT_EQ(rule.saddr[0], addressOf(kEndpoint));
  EXPECT_EQ(rule.daddr[0], addressOf(kPeer));
  EXPECT_EQ(ntohs(rule.sport), 40000);
  EXPECT_EQ(ntohs(rule.dport), 22);
  EXPECT_EQ(rule.length, denied.size());
  EXPECT_EQ(rule.flags, 0);
  EXPECT_EQ(rule.ifindex, BpfHarness::kTestRunIfindex);
  EXPECT_GT(rule.time_ns, 0u);

  const auto& isolated = sent[1];
  EXPECT_EQ(isolated.verdict, POLC_EVENT_VERDICT_DENIED);
  EXPECT_EQ(isolated.reason, POLC_REASON_DEFAULT_DENY);
  EXPECT_EQ(isolated.rule_id, POLC_CT_RULE_NONE);
  EXPECT_EQ(isolated.direction, POLC_CT_INGRESS);
  EXPECT_EQ(isolated.peer_identity, POLC_IDENTITY_WORLD);
  EXPECT_EQ(isolated.protocol, kUdp);
}

TEST_F(EventsTest, FlowsLevelReportsTheFirstPacketOfEachFlowAndAllReportsEveryPacket) {
  load(true, true);
  add(Direction::Egress, allow(kPeerIdentity, kTcp, 80));
  const auto request = PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 80).build();
  const auto reply = PacketBuilder::ipv4(kPeer, kEndpoint).tcp(80, 40000).build();
  setLevel(MonitorLevel::Flows);
  EXPECT_EQ(fromEndpoint(request), kPass);
  EXPECT_EQ(fromEndpoint(request), kPass);
  EXPECT_EQ(toEndpoint(reply), kPass);
  auto sent = events();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].verdict, POLC_EVENT_VERDICT_ALLOWED);
  EXPECT_EQ(sent[0].reason, POLC_REASON_RULE);
  EXPECT_EQ(sent[0].rule_id, 7u);
  EXPECT_EQ(sent[0].flags, POLC_EVENT_FLAG_NEW_FLOW);
  EXPECT_EQ(sent[0].peer_identity, kPeerIdentity);

  setLevel(MonitorLevel::All);
  EXPECT_EQ(fromEndpoint(request), kPass);
  EXPECT_EQ(toEndpoint(reply), kPass);
  sent = events();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].reason, POLC_REASON_CT_ESTABLISHED);
  EXPECT_EQ(sent[0].rule_id, 7u) << "the rule that let the flow in";
  EXPECT_EQ(sent[0].peer_identity, kPeerIdentity) << "looked up for the event";
  EXPECT_EQ(sent[0].flags, 0);
  EXPECT_EQ(sent[1].reason, POLC_REASON_CT_REPLY);
  EXPECT_EQ(sent[1].direction, POLC_CT_INGRESS);
  EXPECT_EQ(sent[1].peer_identity, kPeerIdentity);
}

// ---- counters (bpf/lib/polc_counters.h) -----------------------------------

class CountersTest : public EventsTest {
protected:
  // The counter of (direction, reason, verdict, rule); nullopt when absent.
  std::optional<maps::Counter> counter(uint8_t direction, uint8_t reason, uint8_t verdict,
                                       uint32_t ruleId = POLC_CT_RULE_NONE) {
    auto read = harness_->counters();
    if (!read) {
      ADD_FAILURE() << read.error();
      return std::nullopt;
    }
    for (const auto& c : read->counters)
      if (c.ifindex == BpfHarness::kTestRunIfindex && c.direction == direction &&
          c.reason == reason && c.verdict == verdict && c.ruleId == ruleId)
        return c;
    return std::nullopt;
  }
};

TEST_F(CountersTest, EveryJudgedPacketIsCountedOnceByItsRuleOrReason) {
  load(/*egressIsolated=*/true, /*ingressIsolated=*/true);
  add(Direction::Egress, allow(kPeerIdentity, kTcp, 80));
  add(Direction::Egress, deny(kPeerIdentity, kTcp, 22));
  setLevel(MonitorLevel::Off); // counting does not depend on reporting
  const auto request = PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 80).build();
  const auto reply = PacketBuilder::ipv4(kPeer, kEndpoint).tcp(80, 40000).build();
  const auto denied = PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 22).build();
  const auto isolated = PacketBuilder::ipv4(kInternet, kEndpoint).udp(53, 5353).build();
  EXPECT_EQ(fromEndpoint(request), kPass);
  EXPECT_EQ(fromEndpoint(request), kPass);
  EXPECT_EQ(fromEndpoint(request), kPass);
  EXPECT_EQ(toEndpoint(reply), kPass);
  EXPECT_EQ(fromEndpoint(denied), kDrop);
  EXPECT_EQ(fromEndpoint(denied), kDrop);
  EXPECT_EQ(toEndpoint(isolated), kDrop);

  auto first = counter(POLC_CT_EGRESS, POLC_REASON_RULE, POLC_EVENT_VERDICT_ALLOWED, 7);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->packets, 1u) << "the packet that opened the flow";
  EXPECT_EQ(first->bytes, request.size());
  auto established =
      counter(POLC_CT_EGRESS, POLC_REASON_CT_ESTABLISHED, POLC_EVENT_VERDICT_ALLOWED, 7);
  ASSERT_TRUE(established);
  EXPECT_EQ(established->packets, 2u) << "the rest of the flow, still the rule's";
  EXPECT_EQ(established->bytes, 2 * request.size());
  auto replies = counter(POLC_CT_INGRESS, POLC_REASON_CT_REPLY, POLC_EVENT_VERDICT_ALLOWED);
  ASSERT_TRUE(replies);
  EXPECT_EQ(replies->packets, 1u);
  auto rule = counter(POLC_CT_EGRESS, POLC_REASON_RULE, POLC_EVENT_VERDICT_DENIED, 9);
  ASSERT_TRUE(rule);
  EXPECT_EQ(rule->packets, 2u);
  EXPECT_EQ(rule->bytes, 2 * denied.size());
  auto defaultDeny = counter(POLC_CT_INGRESS, POLC_REASON_DEFAULT_DENY, POLC_EVENT_VERDICT_DENIED);
  ASSERT_TRUE(defaultDeny);
  EXPECT_EQ(defaultDeny->packets, 1u);
  auto all = harness_->counters();
  ASSERT_TRUE(all) << all.error();
  EXPECT_EQ(all->counters.size(), 5u) << "nothing else counted";
  EXPECT_EQ(all->capacity, POLC_COUNTERS_MAX_ENTRIES);
}

TEST_F(CountersTest, SwitchedOffNothingIsCountedAndTheCountsStay) {
  load(true, true);
  const auto denied = PacketBuilder::ipv4(kInternet, kEndpoint).udp(53, 5353).build();
  EXPECT_EQ(toEndpoint(denied), kDrop);
  ASSERT_TRUE(harness_->setCounting(false));
  EXPECT_EQ(toEndpoint(denied), kDrop);
  EXPECT_EQ(toEndpoint(denied), kDrop);
  auto counted = counter(POLC_CT_INGRESS, POLC_REASON_DEFAULT_DENY, POLC_EVENT_VERDICT_DENIED);
  ASSERT_TRUE(counted);
  EXPECT_EQ(counted->packets, 1u) << "only the packet before the switch";
  EXPECT_EQ(events().size(), 3u) << "reporting goes on";
  ASSERT_TRUE(harness_->setCounting(true));
  EXPECT_EQ(toEndpoint(denied), kDrop);
  counted = counter(POLC_CT_INGRESS, POLC_REASON_DEFAULT_DENY, POLC_EVENT_VERDICT_DENIED);
  ASSERT_TRUE(counted);
  EXPECT_EQ(counted->packets, 2u);
}

// ---- audit mode -------------------------------------------------------------

TEST_F(CountersTest, AuditPassesWhatPolicyDeniesReportsAndCountsItAndOffEnforcesAtOnce) {
  load(/*egressIsolated=*/true, /*ingressIsolated=*/true);
  add(Direction::Egress, allow(kPeerIdentity, kTcp, 80));
  add(Direction::Egress, deny(kPeerIdentity, kTcp, 22));
  const auto denied = PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 22).build();
  const auto isolated = PacketBuilder::ipv4(kInternet, kEndpoint).udp(53, 5353).build();
  const auto allowed = PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40001, 80).build();
  ASSERT_TRUE(harness_->setAudit(true));
  EXPECT_EQ(fromEndpoint(denied), kPass) << "a deny rule, audited";
  EXPECT_EQ(fromEndpoint(denied), kPass) << "judged again: no conntrack entry";
  EXPECT_EQ(toEndpoint(isolated), kPass) << "the default deny, audited";
  EXPECT_EQ(fromEndpoint(allowed), kPass);
  auto sent = events();
  ASSERT_EQ(sent.size(), 3u) << "the audited packets, at level drops";
  for (const auto& event : sent) EXPECT_EQ(event.verdict, POLC_EVENT_VERDICT_AUDIT);
  EXPECT_EQ(sent[0].reason, POLC_REASON_RULE);
  EXPECT_EQ(sent[0].rule_id, 9u) << "the rule that would have denied it";
  EXPECT_EQ(sent[1].reason, POLC_REASON_RULE) << "not established: every packet is judged";
  EXPECT_EQ(sent[2].reason, POLC_REASON_DEFAULT_DENY);
  auto counted = counter(POLC_CT_EGRESS, POLC_REASON_RULE, POLC_EVENT_VERDICT_AUDIT, 9);
  ASSERT_TRUE(counted);
  EXPECT_EQ(counted->packets, 2u);

  ASSERT_TRUE(harness_->setAudit(false));
  EXPECT_EQ(fromEndpoint(denied), kDrop) << "enforced at once";
  EXPECT_EQ(toEndpoint(isolated), kDrop);
  sent = events();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].verdict, POLC_EVENT_VERDICT_DENIED);
}

// Audit policies (in the language): audit entries and audit isolation.
TEST_F(CountersTest, AuditEntriesPassTrackTheirFlowAndReportEveryPacketAsAudit) {
  load(codegen::EndpointProgramSpec{.endpoint = "web-1",
                                    .egressProgram = true,
                                    .ingressProgram = true,
                                    .egressIsolated = true,
                                    .ingressIsolated = false,
                                    .ingressAuditIsolated = true});
  PolicyEntry audited = deny(kPeerIdentity, kTcp, 22);
  audited.verdict = POLC_VERDICT_AUDIT;
  add(Direction::Egress, audited);
  add(Direction::Egress, allow(POLC_IDENTITY_ANY, kTcp, 0, 0));
  add(Direction::Egress, deny(kPeerIdentity, kTcp, 23));
  add(Direction::Ingress, allow(kPeerIdentity, kTcp, 80));
  const auto request = PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 22).build();
  const auto reply = PacketBuilder::ipv4(kPeer, kEndpoint).tcp(22, 40000).build();
  EXPECT_EQ(fromEndpoint(request), kPass) << "the audit entry beats the wildcard allow";
  EXPECT_EQ(toEndpoint(reply), kPass) << "its reply passes: the flow is tracked";
  EXPECT_EQ(fromEndpoint(request), kPass);
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 23).build()), kDrop)
      << "an enforcing deny still drops";
  // Ingress, isolated by audit policies only: the unmatched passes as audit.
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv4(kPeer, kEndpoint).tcp(40001, 80).build()), kPass);
  EXPECT_EQ(toEndpoint(PacketBuilder::ipv4(kInternet, kEndpoint).udp(53, 5353).build()), kPass);

  auto sent = events();
  ASSERT_EQ(sent.size(), 4u) << "the audited packets (both of the flow) and the drop";
  EXPECT_EQ(sent[0].verdict, POLC_EVENT_VERDICT_AUDIT);
  EXPECT_EQ(sent[0].reason, POLC_REASON_RULE);
  EXPECT_EQ(sent[0].rule_id, 9u);
  EXPECT_EQ(sent[0].flags, POLC_EVENT_FLAG_NEW_FLOW);
  EXPECT_EQ(sent[1].verdict, POLC_EVENT_VERDICT_AUDIT);
  EXPECT_EQ(sent[1].reason, POLC_REASON_CT_ESTABLISHED) << "on its conntrack entry, still audit";
  EXPECT_EQ(sent[1].rule_id, 9u);
  EXPECT_EQ(sent[2].verdict, POLC_EVENT_VERDICT_DENIED);
  EXPECT_EQ(sent[3].verdict, POLC_EVENT_VERDICT_AUDIT);
  EXPECT_EQ(sent[3].reason, POLC_REASON_DEFAULT_DENY);
  EXPECT_EQ(sent[3].direction, POLC_CT_INGRESS);

  auto first = counter(POLC_CT_EGRESS, POLC_REASON_RULE, POLC_EVENT_VERDICT_AUDIT, 9);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->packets, 1u);
  auto rest = counter(POLC_CT_EGRESS, POLC_REASON_CT_ESTABLISHED, POLC_EVENT_VERDICT_AUDIT, 9);
  ASSERT_TRUE(rest);
  EXPECT_EQ(rest->packets, 1u);
  auto allowedIn = counter(POLC_CT_INGRESS, POLC_REASON_RULE, POLC_EVENT_VERDICT_ALLOWED, 7);
  ASSERT_TRUE(allowedIn) << "an allow of an audit-isolated direction is no audit";
}

TEST_F(CountersTest, AFloodIsCountedExactly) {
  load(true, true);
  const auto denied = PacketBuilder::ipv4(kInternet, kEndpoint).udp(53, 5353).build();
  auto run = harness_->runRepeated("polc_to_ep", denied, 100'000);
  ASSERT_TRUE(run) << run.error();
  auto flood = counter(POLC_CT_INGRESS, POLC_REASON_DEFAULT_DENY, POLC_EVENT_VERDICT_DENIED);
  ASSERT_TRUE(flood);
  EXPECT_EQ(flood->packets, 100'000u);
  EXPECT_EQ(flood->bytes, 100'000u * denied.size());
}

TEST_F(EventsTest, AnEndpointsOwnLevelOverridesTheNodes) {
  load(true, true);
  const auto denied = PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 22).build();
  setLevel(MonitorLevel::Off);
  EXPECT_EQ(fromEndpoint(denied), kDrop);
  EXPECT_TRUE(events().empty()) << "node level off";
  setLevel(MonitorLevel::Drops, BpfHarness::kTestRunIfindex);
  setLevel(MonitorLevel::All, BpfHarness::kTestRunIfindex + 1);
  EXPECT_EQ(fromEndpoint(denied), kDrop);
  EXPECT_EQ(fromEndpoint(PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 23).build()), kDrop);
  EXPECT_EQ(events().size(), 2u) << "this endpoint reports drops";
  setLevel(MonitorLevel::Default, BpfHarness::kTestRunIfindex);
  EXPECT_EQ(fromEndpoint(denied), kDrop);
  EXPECT_TRUE(events().empty()) << "back to the node's level";
}

TEST_F(EventsTest, AFloodOfDropsIsRateLimitedAndCounted) {
  load(true, true);
  ASSERT_TRUE(harness_->setEventRate(100, 100));
  const auto denied = PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 22).build();
  constexpr uint32_t kPackets = 1'000'000;
  const auto start = std::chrono::steady_clock::now();
  auto verdict = harness_->runRepeated(kFromEndpoint, denied, kPackets);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(verdict) << verdict.error();
  EXPECT_EQ(*verdict, kDrop);
  const auto sent = events();
  auto counts = harness_->eventCounts();
  ASSERT_TRUE(counts) << counts.error();
  EXPECT_EQ(counts->sent, sent.size());
  EXPECT_EQ(counts->lost, 0u);
  EXPECT_EQ(counts->sent + counts->limited, kPackets);
  EXPECT_GE(sent.size(), 100u) << "the burst";
  EXPECT_LE(double(sent.size()), 100 + 100 * (seconds + 1)) << "burst + rate x time";
}

TEST_F(EventsTest, AFullRingCountsWhatItLost) {
  load(true, true);
  ASSERT_TRUE(harness_->setEventRate(10'000'000, 10'000'000));
  const auto denied = PacketBuilder::ipv4(kEndpoint, kPeer).tcp(40000, 22).build();
  constexpr uint32_t kPackets = 100'000; // more than the ring holds, with nobody reading
  auto verdict = harness_->runRepeated(kFromEndpoint, denied, kPackets);
  ASSERT_TRUE(verdict) << verdict.error();
  EXPECT_EQ(*verdict, kDrop);
  const auto sent = events();
  auto counts = harness_->eventCounts();
  ASSERT_TRUE(counts) << counts.error();
  EXPECT_GT(counts->lost, 0u);
  EXPECT_EQ(counts->sent, sent.size());
  EXPECT_EQ(counts->sent + counts->lost + counts->limited, kPackets);
  EXPECT_LT(sent.size() * sizeof(polc_event), size_t(POLC_EVENTS_RING_BYTES));
}

} // namespace
} // namespace polc::testing
