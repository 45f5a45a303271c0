// Service translation in the endpoint programs (bpf/lib/polc_service.h),
// through BPF_PROG_TEST_RUN: a packet to a vip leaves rewritten to the
// backend the compiler's Maglev table and flow hash pick, with correct
// checksums; policy judges the backend; the flow keeps its backend; the
// reply comes back from the vip; no backend, no flow.
#include "bpf_harness.h"
#include "packet_builder.h"

#include "polc/services/maglev.h"

#include <bpf/bpf.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <linux/pkt_cls.h>
#include <netinet/in.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <thread>

namespace polc::testing {
namespace {

constexpr int kPass = TC_ACT_OK;
constexpr int kDrop = TC_ACT_SHOT;
constexpr uint32_t kClientIdentity = 300;
constexpr uint32_t kAllowedIdentity = 400; // the policy allows this backend
constexpr uint32_t kOtherIdentity = 401;   // and not this one
constexpr uint16_t kTarget = 8080;

struct Address {
  uint8_t family;
  uint32_t words[4];
};

Address parse(std::string_view text) {
  Address address{};
  const bool v6 = text.find(':') != std::string_view::npos;
  address.family = v6 ? POLC_FAMILY_IPV6 : POLC_FAMILY_IPV4;
  inet_pton(v6 ? AF_INET6 : AF_INET, std::string(text).c_str(), address.words);
  return address;
}

// The frame's addresses and ports, as bytes from the IP header on.
struct Seen {
  std::string source, destination;
  uint16_t sourcePort = 0, destinationPort = 0;
};

Seen seen(const std::vector<uint8_t>& frame) {
  const uint8_t* ip = frame.data() + 14;
  const bool v6 = (ip[0] >> 4) == 6;
  char text[INET6_ADDRSTRLEN];
  Seen result;
  inet_ntop(v6 ? AF_INET6 : AF_INET, ip + (v6 ? 8 : 12), text, sizeof text);
  result.source = text;
  inet_ntop(v6 ? AF_INET6 : AF_INET, ip + (v6 ? 24 : 16), text, sizeof text);
  result.destination = text;
  const uint8_t* l4 = ip + (v6 ? 40 : 20);
  result.sourcePort = uint16_t(l4[0] << 8 | l4[1]);
  result.destinationPort = uint16_t(l4[2] << 8 | l4[3]);
  return result;
}

class ServicesTest : public ::testing::Test {
protected:
  void SetUp() override {
    POLC_SKIP_UNLESS_KERNEL(kernelUnavailableReason());
    auto loaded = BpfHarness::build({.endpoint = "client",
                                     .identity = kClientIdentity,
                                     .egressProgram = true,
                                     .ingressProgram = true,
                                     .egressIsolated = true,
                                     .ingressIsolated = true,
                                     .services = true});
    ASSERT_TRUE(loaded) << loaded.error();
    harness_.emplace(std::move(*loaded));
    for (auto [prefix, identity] : {std::pair{"10.0.0.1", kClientIdentity},
                                    {"10.0.0.2", kAllowedIdentity},
                                    {"10.0.0.3", kOtherIdentity},
                                    {"fd00::1", kClientIdentity},
                                    {"fd00::2", kAllowedIdentity},
                                    {"fd00::3", kOtherIdentity}})
      ASSERT_TRUE(harness_->setIdentity(prefix, identity));
    for (uint8_t protocol : {IPPROTO_TCP, IPPROTO_UDP})
      ASSERT_TRUE(harness_->addPolicy(Direction::Egress, {.identity = kAllowedIdentity,
                                                          .protocol = protocol,
                                                          .port = kTarget,
                                                          .portPrefixBits = 16,
                                                          .ruleId = 7}));
  }

  int fd(const char* map) {
    auto found = harness_->mapFd(map);
    EXPECT_TRUE(found) << found.error();
    return found ? *found : -1;
  }

  // The id of a backend of frontend `id`: one per frontend and address, as
  // the loader's (a backend that leaves the frontend takes its id along).
  static uint32_t backendId(uint32_t id, std::string_view address) {
    const std::string_view known[] = {"10.0.0.2", "10.0.0.3", "fd00::2", "fd00::3"};
    return id * 100 + uint32_t(std::find(std::begin(known), std::end(known), address) - known);
  }

  // A frontend at vip:port with these backends and no others, its Maglev
  // table built by the compiler's code.
  void addFrontend(uint32_t id, std::string_view vip, uint8_t protocol, uint16_t port,
                   const std::vector<std::string_view>& backends, uint32_t affinitySeconds = 0) {
    for (uint32_t gone = id * 100; gone < id * 100 + 4; ++gone)
      bpf_map_delete_elem(fd("polc_backends"), &gone);
    std::vector<services::MaglevBackend> keyed;
    for (const auto& text : backends) {
      auto address = parse(text);
      polc_backend backend{};
      std::memcpy(backend.addr, address.words, sizeof backend.addr);
      backend.port = htons(kTarget);
      backend.family = address.family;
      const uint32_t key = backendId(id, text);
      ASSERT_EQ(bpf_map_update_elem(fd("polc_backends"), &key, &backend, BPF_ANY), 0);
      keyed.push_back({std::string(text) + ":8080", 1});
    }
    polc_maglev_table table{};
    auto slots = services::buildMaglevTable(keyed);
    for (size_t slot = 0; slot < slots.size(); ++slot)
      table.backend_id[slot] = backendId(id, backends[slots[slot]]);
    if (!slots.empty()) {
      ASSERT_EQ(bpf_map_update_elem(fd("polc_maglev"), &id, &table, BPF_ANY), 0);
    }
    expected_ = slots;
    backends_ = backends;
    auto address = parse(vip);
    polc_service_key key{};
    std::memcpy(key.vip, address.words, sizeof key.vip);
    key.dport = htons(port);
    key.protocol = protocol;
    key.family = address.family;
    polc_service_value value{};
    value.frontend_id = id;
    value.backend_count = uint16_t(slots.size() == 0 ? 0 : backends.size());
    value.affinity_seconds = affinitySeconds;
    ASSERT_EQ(bpf_map_update_elem(fd("polc_services"), &key, &value, BPF_ANY), 0);
  }

  // The backend the compiler predicts for the flow.
  std::string_view predicted(std::string_view client, std::string_view vip, uint8_t protocol,
                             uint16_t sport, uint16_t dport) const {
    services::FlowTuple tuple;
    auto from = parse(client), to = parse(vip);
    std::memcpy(tuple.saddr.data(), from.words, 16);
    std::memcpy(tuple.daddr.data(), to.words, 16);
    tuple.sport = htons(sport);
    tuple.dport = htons(dport);
    tuple.protocol = protocol;
    tuple.family = from.family;
    auto slot = services::pickBackendSlot(services::flowHash(tuple), services::kMaglevTableSize);
    return backends_.at(expected_.at(slot));
  }

  // A source port whose flow goes to `backend`.
  uint16_t portTo(std::string_view backend, std::string_view client, std::string_view vip,
                  uint8_t protocol, uint16_t dport) const {
    for (uint16_t sport = 40000; sport < 41000; ++sport)
      if (predicted(client, vip, protocol, sport, dport) == backend) return sport;
    ADD_FAILURE() << "no flow goes to " << backend;
    return 0;
  }

  BpfHarness::Output run(const char* program, const std::vector<uint8_t>& frame) {
    auto output = harness_->runAndRead(program, frame);
    if (!output) {
      ADD_FAILURE() << output.error();
      return {};
    }
    return *output;
  }

  // The client's `request` leaves to backend:kTarget, and the backend's
  // `reply` comes to the client from vip:vipPort, checksums right both ways.
  void expectTranslatedBothWays(const std::vector<uint8_t>& request, std::string_view backend,
                                const std::vector<uint8_t>& reply, std::string_view vip,
                                uint16_t vipPort) {
    auto sent = run("polc_from_ep", request);
    ASSERT_EQ(sent.verdict, kPass);
    EXPECT_EQ(seen(sent.frame).destination, backend);
    EXPECT_EQ(seen(sent.frame).destinationPort, kTarget);
    EXPECT_EQ(seen(sent.frame).source, seen(request).source);
    EXPECT_EQ(checksumProblems(sent.frame), "");
    auto back = run("polc_to_ep", reply);
    ASSERT_EQ(back.verdict, kPass);
    EXPECT_EQ(seen(back.frame).source, vip);
    EXPECT_EQ(seen(back.frame).sourcePort, vipPort);
    EXPECT_EQ(checksumProblems(back.frame), "");
  }

  std::optional<BpfHarness> harness_;
  std::vector<uint32_t> expected_;
  std::vector<std::string_view> backends_;
};

TEST_F(ServicesTest, AFlowToTheVipGoesToItsBackendAndTheReplyComesFromTheVip) {
  addFrontend(1, "10.96.0.5", IPPROTO_TCP, 80, {"10.0.0.2", "10.0.0.3"});
  const auto sport = portTo("10.0.0.2", "10.0.0.1", "10.96.0.5", IPPROTO_TCP, 80);
  expectTranslatedBothWays(
      PacketBuilder::ipv4("10.0.0.1", "10.96.0.5").tcp(sport, 80).checksummed().build(), "10.0.0.2",
      PacketBuilder::ipv4("10.0.0.2", "10.0.0.1").tcp(kTarget, sport).checksummed().build(),
      "10.96.0.5", 80);

  // Traffic that is not to a frontend is left as it is.
  auto direct = PacketBuilder::ipv4("10.0.0.1", "10.0.0.2").tcp(sport, kTarget).checksummed();
  auto untouched = run("polc_from_ep", direct.build());
  EXPECT_EQ(untouched.verdict, kPass);
  EXPECT_EQ(untouched.frame, direct.build());
}

TEST_F(ServicesTest, PolicyJudgesTheBackendAndAFlowKeepsItsBackend) {
  addFrontend(1, "10.96.0.5", IPPROTO_TCP, 80, {"10.0.0.2", "10.0.0.3"});
  // To the backend policy does not allow: dropped, whatever the vip; the
  // drop names the backend and the service.
  const auto denied = portTo("10.0.0.3", "10.0.0.1", "10.96.0.5", IPPROTO_TCP, 80);
  ASSERT_TRUE(harness_->takeEvents());
  EXPECT_EQ(
      run("polc_from_ep", PacketBuilder::ipv4("10.0.0.1", "10.96.0.5").tcp(denied, 80).build())
          .verdict,
      kDrop);
  auto events = harness_->takeEvents();
  ASSERT_TRUE(events) << events.error();
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ(events->front().frontend_id, 1u);
  EXPECT_EQ(events->front().peer_identity, kOtherIdentity);
  EXPECT_EQ(events->front().dport, htons(kTarget));

  // An open flow keeps its backend when the table changes under it.
  const auto sport = portTo("10.0.0.2", "10.0.0.1", "10.96.0.5", IPPROTO_TCP, 80);
  const auto packet = PacketBuilder::ipv4("10.0.0.1", "10.96.0.5").tcp(sport, 80).build();
  ASSERT_EQ(run("polc_from_ep", packet).verdict, kPass);
  addFrontend(1, "10.96.0.5", IPPROTO_TCP, 80, {"10.0.0.3"});
  auto again = run("polc_from_ep", packet);
  EXPECT_EQ(again.verdict, kPass);
  EXPECT_EQ(seen(again.frame).destination, "10.0.0.2");
}

TEST_F(ServicesTest, TheDatapathPicksTheBackendTheCompilerPredicts) {
  addFrontend(1, "10.96.0.5", IPPROTO_TCP, 80, {"10.0.0.2", "10.0.0.3"});
  for (uint16_t sport = 50000; sport < 50032; ++sport) {
    auto sent =
        run("polc_from_ep", PacketBuilder::ipv4("10.0.0.1", "10.96.0.5").tcp(sport, 80).build());
    // Only the flows to 10.0.0.2 pass policy; the others are dropped.
    if (predicted("10.0.0.1", "10.96.0.5", IPPROTO_TCP, sport, 80) == "10.0.0.2") {
      EXPECT_EQ(sent.verdict, kPass) << sport;
      EXPECT_EQ(seen(sent.frame).destination, "10.0.0.2") << sport;
    } else {
      EXPECT_EQ(sent.verdict, kDrop) << sport;
    }
  }
}

// A new flow to a frontend without backends is refused as a host refuses
// it, from the vip, sent back into the client (to the peer of its veth),
// and reported as such: TCP with a reset, UDP with an ICMP port unreachable
// that quotes the packet.
TEST_F(ServicesTest, AFrontendWithoutBackendsRefusesNewFlowsAtOnce) {
  addFrontend(1, "10.96.0.5", IPPROTO_TCP, 80, {});
  addFrontend(2, "10.96.0.5", IPPROTO_UDP, 53, {});
  addFrontend(3, "fd00:96::5", IPPROTO_TCP, 80, {});
  addFrontend(4, "fd00:96::5", IPPROTO_UDP, 53, {});
  ASSERT_TRUE(harness_->takeEvents());
  struct Case {
    std::vector<uint8_t> request;
    size_t ipHeader;
    const char* vip;
  };
  const Case cases[] = {
      {PacketBuilder::ipv4("10.0.0.1", "10.96.0.5").tcp(40000, 80).checksummed().build(), 20,
       "10.96.0.5"},
      {PacketBuilder::ipv4("10.0.0.1", "10.96.0.5").udp(40000, 53).checksummed().build(), 20,
       "10.96.0.5"},
      {PacketBuilder::ipv6("fd00::1", "fd00:96::5").tcp(40000, 80).checksummed().build(), 40,
       "fd00:96::5"},
      {PacketBuilder::ipv6("fd00::1", "fd00:96::5").udp(40000, 53).checksummed().build(), 40,
       "fd00:96::5"}};
  for (const auto& [request, ipHeader, vip] : cases) {
    const uint8_t* asked = request.data() + 14;
    const bool tcp = (ipHeader == 20 ? asked[9] : asked[6]) == IPPROTO_TCP;
    SCOPED_TRACE(std::string(vip) + (tcp ? " tcp" : " udp"));
    auto answer = run("polc_from_ep", request);
    EXPECT_EQ(answer.verdict, TC_ACT_REDIRECT);
    const auto& frame = answer.frame;
    ASSERT_EQ(frame.size(), tcp ? 14 + ipHeader + 20 : 14 + ipHeader + 8 + ipHeader + 8);
    EXPECT_TRUE(std::equal(frame.begin(), frame.begin() + 6, request.begin() + 6))
        << "to the client's MAC";
    EXPECT_TRUE(std::equal(frame.begin() + 6, frame.begin() + 12, request.begin()));
    EXPECT_EQ(seen(frame).source, vip);
    EXPECT_EQ(seen(frame).destination, seen(request).source);
    EXPECT_EQ(checksumProblems(frame), "");
    const uint8_t* ip = frame.data() + 14;
    const uint8_t* l4 = ip + ipHeader;
    if (tcp) {
      EXPECT_EQ(ipHeader == 20 ? ip[9] : ip[6], IPPROTO_TCP);
      EXPECT_EQ(seen(frame).sourcePort, 80);
      EXPECT_EQ(seen(frame).destinationPort, 40000);
      EXPECT_EQ(l4[13], 0x14) << "RST and ACK";
      EXPECT_EQ(std::vector<uint8_t>(l4 + 8, l4 + 12), (std::vector<uint8_t>{0, 0, 0, 1}))
          << "acknowledges the SYN (sequence number 0)";
    } else {
      EXPECT_EQ(ipHeader == 20 ? ip[9] : ip[6],
                ipHeader == 20 ? int(IPPROTO_ICMP) : int(IPPROTO_ICMPV6));
      EXPECT_EQ(l4[0], ipHeader == 20 ? 3 : 1) << "destination unreachable";
      EXPECT_EQ(l4[1], ipHeader == 20 ? 3 : 4) << "port unreachable";
      EXPECT_TRUE(std::equal(frame.begin() + 14 + ipHeader + 8, frame.end(), request.begin() + 14))
          << "quotes the packet's IP header and first 8 bytes after it";
    }
  }
  // Reported for want of a backend, not as policy judging the vip.
  auto events = harness_->takeEvents();
  ASSERT_TRUE(events) << events.error();
  ASSERT_EQ(events->size(), 4u);
  for (size_t i = 0; i < events->size(); ++i) {
    EXPECT_EQ((*events)[i].reason, POLC_REASON_NO_BACKEND);
    EXPECT_EQ((*events)[i].verdict, POLC_EVENT_VERDICT_DENIED);
    EXPECT_EQ((*events)[i].frontend_id, i + 1) << "names the service";
  }
}

// With affinity, a client's new flows follow its first one's backend
// (whatever their hash says) while that backend is one of the frontend's;
// other clients are not bound by it.
TEST_F(ServicesTest, AffinityKeepsAClientOnItsBackendWhileItIsOne) {
  ASSERT_TRUE(harness_->addPolicy(Direction::Egress, {.identity = kOtherIdentity,
                                                      .protocol = IPPROTO_TCP,
                                                      .port = kTarget,
                                                      .portPrefixBits = 16,
                                                      .ruleId = 8}));
  ASSERT_TRUE(harness_->setIdentity("10.0.0.9", kClientIdentity));
  addFrontend(1, "10.96.0.5", IPPROTO_TCP, 80, {"10.0.0.2", "10.0.0.3"}, 600);
  auto destination = [&](std::string_view client, uint16_t sport) {
    auto sent =
        run("polc_from_ep", PacketBuilder::ipv4(client, "10.96.0.5").tcp(sport, 80).build());
    EXPECT_EQ(sent.verdict, kPass) << sport;
    return seen(sent.frame).destination;
  };
  const auto first = portTo("10.0.0.3", "10.0.0.1", "10.96.0.5", IPPROTO_TCP, 80);
  ASSERT_EQ(destination("10.0.0.1", first), "10.0.0.3");
  for (uint16_t sport = 50000; sport < 50016; ++sport)
    EXPECT_EQ(destination("10.0.0.1", sport), "10.0.0.3") << sport;
  // Another client has its own backend: its first flow's.
  const auto other = portTo("10.0.0.2", "10.0.0.9", "10.96.0.5", IPPROTO_TCP, 80);
  ASSERT_EQ(destination("10.0.0.9", other), "10.0.0.2");
  for (uint16_t sport = 50000; sport < 50016; ++sport)
    EXPECT_EQ(destination("10.0.0.9", sport), "10.0.0.2") << sport;

  // The backend leaves the frontend: the client's next flow takes the hash's
  // pick, which becomes its backend.
  addFrontend(1, "10.96.0.5", IPPROTO_TCP, 80, {"10.0.0.2"}, 600);
  EXPECT_EQ(destination("10.0.0.1", 51000), "10.0.0.2");
  addFrontend(1, "10.96.0.5", IPPROTO_TCP, 80, {"10.0.0.2", "10.0.0.3"}, 600);
  for (uint16_t sport = 51001; sport < 51017; ++sport)
    EXPECT_EQ(destination("10.0.0.1", sport), "10.0.0.2") << sport;

  // Unused for longer than the timeout, the binding lapses.
  addFrontend(1, "10.96.0.5", IPPROTO_TCP, 80, {"10.0.0.2", "10.0.0.3"}, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  const auto lapsed = portTo("10.0.0.3", "10.0.0.1", "10.96.0.5", IPPROTO_TCP, 80);
  EXPECT_EQ(destination("10.0.0.1", lapsed), "10.0.0.3");
}

TEST_F(ServicesTest, UdpOverIpv6IsTranslatedBothWays) {
  addFrontend(2, "fd00:96::5", IPPROTO_UDP, 53, {"fd00::2", "fd00::3"});
  const auto sport = portTo("fd00::2", "fd00::1", "fd00:96::5", IPPROTO_UDP, 53);
  expectTranslatedBothWays(
      PacketBuilder::ipv6("fd00::1", "fd00:96::5").udp(sport, 53).checksummed().build(), "fd00::2",
      PacketBuilder::ipv6("fd00::2", "fd00::1").udp(kTarget, sport).checksummed().build(),
      "fd00:96::5", 53);
}

} // namespace
} // namespace polc::testing
