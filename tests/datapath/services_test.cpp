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

#include <cstdlib>
#include <cstring>
#include <string_view>

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

  // A frontend at vip:port with these backends (id = index + 1), its Maglev
  // table built by the compiler's code.
  void addFrontend(uint32_t id, std::string_view vip, uint8_t protocol, uint16_t port,
                   const std::vector<std::string_view>& backends) {
    std::vector<services::MaglevBackend> keyed;
    for (size_t i = 0; i < backends.size(); ++i) {
      auto address = parse(backends[i]);
      polc_backend backend{};
      std::memcpy(backend.addr, address.words, sizeof backend.addr);
      backend.port = htons(kTarget);
      backend.family = address.family;
      uint32_t backendId = id * 100 + uint32_t(i);
      ASSERT_EQ(bpf_map_update_elem(fd("polc_backends"), &backendId, &backend, BPF_ANY), 0);
      keyed.push_back({std::string(backends[i]) + ":8080", 1});
    }
    polc_maglev_table table{};
    auto slots = services::buildMaglevTable(keyed);
    for (size_t slot = 0; slot < slots.size(); ++slot)
      table.backend_id[slot] = id * 100 + slots[slot];
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

  std::optional<BpfHarness> harness_;
  std::vector<uint32_t> expected_;
  std::vector<std::string_view> backends_;
};

TEST_F(ServicesTest, AFlowToTheVipGoesToItsBackendAndTheReplyComesFromTheVip) {
  addFrontend(1, "10.96.0.5", IPPROTO_TCP, 80, {"10.0.0.2", "10.0.0.3"});
  const auto sport = portTo("10.0.0.2", "10.0.0.1", "10.96.0.5", IPPROTO_TCP, 80);
  auto sent =
      run("polc_from_ep",
          PacketBuilder::ipv4("10.0.0.1", "10.96.0.5").tcp(sport, 80).checksummed().build());
  ASSERT_EQ(sent.verdict, kPass);
  EXPECT_EQ(seen(sent.frame).destination, "10.0.0.2");
  EXPECT_EQ(seen(sent.frame).destinationPort, kTarget);
  EXPECT_EQ(seen(sent.frame).source, "10.0.0.1");
  EXPECT_EQ(checksumProblems(sent.frame), "");

  // The backend's reply enters the client from the vip.
  auto reply =
      run("polc_to_ep",
          PacketBuilder::ipv4("10.0.0.2", "10.0.0.1").tcp(kTarget, sport).checksummed().build());
  ASSERT_EQ(reply.verdict, kPass);
  EXPECT_EQ(seen(reply.frame).source, "10.96.0.5");
  EXPECT_EQ(seen(reply.frame).sourcePort, 80);
  EXPECT_EQ(checksumProblems(reply.frame), "");

  // Traffic that is not to a frontend is left as it is.
  auto direct = PacketBuilder::ipv4("10.0.0.1", "10.0.0.2").tcp(sport, kTarget).checksummed();
  auto untouched = run("polc_from_ep", direct.build());
  EXPECT_EQ(untouched.verdict, kPass);
  EXPECT_EQ(untouched.frame, direct.build());
}

TEST_F(ServicesTest, PolicyJudgesTheBackendAndAFlowKeepsItsBackend) {
  addFrontend(1, "10.96.0.5", IPPROTO_TCP, 80, {"10.0.0.2", "10.0.0.3"});
  // To the backend policy does not allow: dropped, whatever the vip.
  const auto denied = portTo("10.0.0.3", "10.0.0.1", "10.96.0.5", IPPROTO_TCP, 80);
  EXPECT_EQ(
      run("polc_from_ep", PacketBuilder::ipv4("10.0.0.1", "10.96.0.5").tcp(denied, 80).build())
          .verdict,
      kDrop);

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

TEST_F(ServicesTest, AFrontendWithoutBackendsDropsNewFlows) {
  addFrontend(1, "10.96.0.5", IPPROTO_TCP, 80, {});
  EXPECT_EQ(run("polc_from_ep", PacketBuilder::ipv4("10.0.0.1", "10.96.0.5").tcp(40000, 80).build())
                .verdict,
            kDrop);
}

TEST_F(ServicesTest, UdpOverIpv6IsTranslatedBothWays) {
  addFrontend(2, "fd00:96::5", IPPROTO_UDP, 53, {"fd00::2", "fd00::3"});
  const auto sport = portTo("fd00::2", "fd00::1", "fd00:96::5", IPPROTO_UDP, 53);
  auto sent =
      run("polc_from_ep",
          PacketBuilder::ipv6("fd00::1", "fd00:96::5").udp(sport, 53).checksummed().build());
  ASSERT_EQ(sent.verdict, kPass);
  EXPECT_EQ(seen(sent.frame).destination, "fd00::2");
  EXPECT_EQ(seen(sent.frame).destinationPort, kTarget);
  EXPECT_EQ(checksumProblems(sent.frame), "");
  auto reply =
      run("polc_to_ep",
          PacketBuilder::ipv6("fd00::2", "fd00::1").udp(kTarget, sport).checksummed().build());
  ASSERT_EQ(reply.verdict, kPass);
  EXPECT_EQ(seen(reply.frame).source, "fd00:96::5");
  EXPECT_EQ(seen(reply.frame).sourcePort, 53);
  EXPECT_EQ(checksumProblems(reply.frame), "");
}

} // namespace
} // namespace polc::testing
