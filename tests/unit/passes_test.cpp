#include "polc/frontend/parser.h"
#include "polc/passes/tables.h"
#include "polc/pipeline/pipeline.h"
#include "polc/topology/loader.h"

#include "polc_structs.h"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <random>

namespace polc {
namespace {

using artifacts::PolicyEntry;
using artifacts::Verdict;
using passes::PortPrefix;

bool prefixContains(const PortPrefix& prefix, uint32_t port) {
  uint32_t mask = prefix.bits == 0 ? 0 : (0xffffu << (16 - prefix.bits)) & 0xffffu;
  return (port & mask) == prefix.port;
}

TEST(PortPrefixes, SinglePortIsOneFullPrefix) {
  EXPECT_EQ(passes::portRangeToPrefixes(80, 80), (std::vector<PortPrefix>{{80, 16}}));
}

TEST(PortPrefixes, WholeRangeCostsAHandful) {
  auto prefixes = passes::portRangeToPrefixes(1, 65535);
  EXPECT_LE(prefixes.size(), 16u);
  EXPECT_EQ(passes::portRangeToPrefixes(0, 65535), (std::vector<PortPrefix>{{0, 0}}));
}

TEST(PortPrefixes, UnionIsExactlyTheRange) {
  std::mt19937 random(7);
  for (int trial = 0; trial < 200; ++trial) {
    uint16_t a = uint16_t(random()), b = uint16_t(random());
    if (trial % 3 == 0) b = uint16_t(a + random() % 300);
    uint16_t first = std::min(a, b), last = std::max(a, b);
    auto prefixes = passes::portRangeToPrefixes(first, last);
    EXPECT_LE(prefixes.size(), 30u);
    for (uint32_t port = 0; port <= 65535; port += (trial % 5 == 0 ? 1 : 7)) {
      int hits = 0;
      for (const auto& p : prefixes) hits += prefixContains(p, port);
      EXPECT_EQ(hits, (port >= first && port <= last) ? 1 : 0)
          << first << "-" << last << " port " << port;
    }
  }
}

class Tables : public ::testing::Test {
protected:
  artifacts::PolicyTable table(const std::string& policy, const std::string& endpoint,
                               ast::Direction direction) {
    auto file = frontend::parseText("p.pol", policy, diagnostics);
    auto topology = topology::loadText("t.yaml", R"(cluster: c
nodes:
  - name: n1
    address: 10.9.0.1
    endpoints:
      - { name: a, labels: { app: a }, addresses: [10.0.0.1], interface: v1 }
      - { name: b, labels: { app: b }, addresses: [10.0.0.2], interface: v2 }
)",
                                       diagnostics);
    EXPECT_TRUE(file && topology) << diagnostics.render();
    program = *pipeline::analyze(*file, *topology, diagnostics);
    return passes::buildPolicyTable(program, *program.findEndpoint(endpoint), direction);
  }
  uint32_t id(const std::string& endpoint) { return program.findEndpoint(endpoint)->identity; }

  Diagnostics diagnostics;
  ir::Program program;
};

TEST_F(Tables, RangeBecomesPrefixesNotPorts) {
  auto t =
      table(R"(policy "p" { select app == "a" ingress { allow from app == "b" on tcp/1-65535 } })",
            "a", ast::Direction::Ingress);
  EXPECT_TRUE(t.isolated);
  EXPECT_LE(t.entries.size(), 16u);
  for (const auto& e : t.entries) {
    EXPECT_EQ(e.identity, id("b"));
    EXPECT_EQ(e.protocol, IPPROTO_TCP);
    EXPECT_EQ(e.verdict, Verdict::Allow);
  }
}

TEST_F(Tables, NoPortsMeansOneIdentityWideEntry) {
  auto t = table(R"(policy "p" { select app == "a" egress { allow to app == "b" } })", "a",
                 ast::Direction::Egress);
  ASSERT_EQ(t.entries.size(), 1u);
  EXPECT_EQ(t.entries[0].keyPrefixLength(), uint32_t(POLC_POLICY_PREFIX_IDENTITY));
}

TEST_F(Tables, AllowInsideADenyOfTheSamePeerIsDropped) {
  auto t = table(R"(policy "p" { select app == "a" ingress {
      allow from app == "b" on tcp/80
      deny from app == "b" on tcp/64-127
      allow from app == "b" on tcp/1000 } })",
                 "a", ast::Direction::Ingress);
  // tcp/80 is inside the deny: only the deny prefix and tcp/1000 remain.
  ASSERT_EQ(t.entries.size(), 2u);
  EXPECT_EQ(t.entries[0].verdict, Verdict::Deny);
  EXPECT_EQ(t.entries[0].port, 64);
  EXPECT_EQ(t.entries[0].portPrefixBits, 10);
  EXPECT_EQ(t.entries[1].port, 1000);
}

TEST_F(Tables, NarrowerEntryOfTheSameVerdictIsDropped) {
  auto t = table(R"(policy "p" { select app == "a" ingress {
      allow from app == "b" on tcp/80
      allow from app == "b" } })",
                 "a", ast::Direction::Ingress);
  ASSERT_EQ(t.entries.size(), 1u);
  EXPECT_EQ(t.entries[0].protocol, 0);
  EXPECT_EQ(t.entries[0].ruleId, 1u);
}

TEST_F(Tables, DenyNestedInsideAnAllowIsKept) {
  auto t = table(R"(policy "p" { select app == "a" ingress {
      allow from app == "b"
      deny from app == "b" on udp/53 } })",
                 "a", ast::Direction::Ingress);
  ASSERT_EQ(t.entries.size(), 2u);
}

TEST(Ipcache, EveryEndpointAddressAndTheNodeAsHost) {
  Diagnostics diagnostics;
  auto file = frontend::parseText("p.pol", R"(policy "p" { select any })", diagnostics);
  auto topology = topology::loadFile(POLC_SOURCE_DIR "/examples/policies/shop.yaml", diagnostics);
  auto program = pipeline::analyze(*file, *topology, diagnostics);
  ASSERT_TRUE(program);
  auto ipcache = passes::buildIpcache(*program, "node-1");
  ASSERT_EQ(ipcache.entries.size(), 5u);
  bool hostSeen = false;
  for (const auto& e : ipcache.entries)
    if (e.address == "10.10.0.1") hostSeen = e.identity == POLC_IDENTITY_HOST;
  EXPECT_TRUE(hostSeen);
  EXPECT_TRUE(std::is_sorted(ipcache.entries.begin(), ipcache.entries.end()));
}

} // namespace
} // namespace polc

namespace polc {
namespace {

// A policy selecting endpoint a, with these ingress rules.
std::string policyOnA(const std::string& rules) {
  return "policy \"p\" { select app == \"a\" ingress { " + rules + " } }";
}

TEST_F(Tables, AnAuditDenyBecomesAnAuditEntryThatBeatsAnAllow) {
  auto t = table(R"(policy "p" { select app == "a" ingress { allow from app == "b" on tcp/80 } }
audit policy "q" { select app == "a" ingress { deny from app == "b" on tcp } })",
                 "a", ast::Direction::Ingress);
  EXPECT_TRUE(t.isolated);
  EXPECT_FALSE(t.auditIsolated);
  // In an enforced isolation the audit entry is clipped to what the allow
  // lets through (tcp/80); the allow nested in it goes.
  ASSERT_EQ(t.entries.size(), 1u);
  EXPECT_EQ(t.entries[0].verdict, Verdict::Audit);
  EXPECT_EQ(t.entries[0].identity, id("b"));
  EXPECT_EQ(t.entries[0].port, 80);
  EXPECT_EQ(t.entries[0].portPrefixBits, 16);
  EXPECT_EQ(t.entries[0].ruleId, 1u);
}

TEST_F(Tables, AnAuditPolicyAloneIsolatesInAuditOnly) {
  auto t = table(R"(audit policy "q" { select app == "a" ingress {
      allow from app == "b" on tcp/80
      deny from app == "b" on tcp/22 } })",
                 "a", ast::Direction::Ingress);
  EXPECT_FALSE(t.isolated);
  EXPECT_TRUE(t.auditIsolated);
  ASSERT_EQ(t.entries.size(), 2u);
  EXPECT_EQ(t.entries[0].verdict, Verdict::Audit);
  EXPECT_EQ(t.entries[0].port, 22);
  EXPECT_EQ(t.entries[1].verdict, Verdict::Allow);
  // An enforcing deny beats an audit deny of the same key.
  auto both = table(R"(audit policy "q" { select app == "a" ingress { deny from app == "b" } }
policy "p" { select app == "a" ingress { deny from app == "b" } })",
                    "a", ast::Direction::Ingress);
  ASSERT_EQ(both.entries.size(), 1u);
  EXPECT_EQ(both.entries[0].verdict, Verdict::Deny);
  EXPECT_TRUE(both.isolated);
  EXPECT_FALSE(both.auditIsolated);
}

TEST_F(Tables, AKeyEveryIdentityHasBecomesOneWildcardEntry) {
  auto t =
      table(policyOnA("allow from entity cluster on tcp/443 allow from entity world on tcp/443"),
            "a", ast::Direction::Ingress);
  ASSERT_EQ(t.entries.size(), 1u);
  EXPECT_EQ(t.entries[0].identity, POLC_IDENTITY_ANY);
  EXPECT_EQ(t.entries[0].verdict, artifacts::Verdict::Allow);
  EXPECT_EQ(t.entries[0].ruleId, 0u); // the lowest rule id of the folded entries
}

TEST_F(Tables, AKeyMissingOneIdentityIsNotFolded) {
  auto t = table(policyOnA("allow from entity cluster on tcp/443"), "a", ast::Direction::Ingress);
  for (const auto& entry : t.entries) EXPECT_NE(entry.identity, POLC_IDENTITY_ANY);
  EXPECT_GT(t.entries.size(), 1u);
}

TEST_F(Tables, AFoldedDenyShadowsTheWildcardsNarrowerAllows) {
  // Before folding, every identity's deny tcp beats the wildcard's allow
  // tcp/80 (a deny from either lookup wins); after, both are wildcard
  // entries and the nested allow must go, or the longer allow would win.
  auto t = table(policyOnA("allow from entity all on tcp/80 deny from entity cluster on tcp "
                           "deny from entity world on tcp"),
                 "a", ast::Direction::Ingress);
  ASSERT_EQ(t.entries.size(), 1u);
  EXPECT_EQ(t.entries[0].identity, POLC_IDENTITY_ANY);
  EXPECT_EQ(t.entries[0].verdict, artifacts::Verdict::Deny);
  EXPECT_EQ(t.entries[0].portPrefixBits, 0u);
}

} // namespace
} // namespace polc
