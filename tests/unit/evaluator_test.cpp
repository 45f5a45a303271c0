// The reference evaluator over hand-built IR: semantics, address
// resolution, explanations, the test-file format and the test runner.
#include "polc/evaluator/evaluator.h"
#include "polc/evaluator/explain.h"
#include "polc/evaluator/policy_tests.h"
#include "polc_structs.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace polc::evaluator {
namespace {

using ast::Direction;
using ir::L4Range;

constexpr uint32_t kWeb = 256, kDb = 257, kFrontend = 258;
constexpr uint32_t kCidr8 = POLC_IDENTITY_FIRST_PREFIX;          // 10.0.0.0/8
constexpr uint32_t kCidr16 = POLC_IDENTITY_FIRST_PREFIX + 1;     // 10.1.0.0/16
constexpr uint32_t kCidrV6 = POLC_IDENTITY_FIRST_PREFIX + 2;     // fd00:1::/32
constexpr uint32_t kServiceVip = POLC_IDENTITY_FIRST_PREFIX + 3; // 10.96.0.5

IpPrefix prefix(const std::string& text) {
  return *parsePrefix(text);
}

L4Range tcp(uint16_t first, uint16_t last) {
  return {IPPROTO_TCP, first, last};
}
L4Range tcp(uint16_t port) {
  return tcp(port, port);
}
L4Range icmpType(uint8_t type) {
  return {IPPROTO_ICMP, uint16_t(type << 8), uint16_t(type << 8 | 0xff)};
}
L4Range icmpTypeCode(uint8_t type, uint8_t code) {
  return {IPPROTO_ICMP, uint16_t(type << 8 | code), uint16_t(type << 8 | code)};
}

// Three endpoints on two nodes, a few CIDR identities; no rules until a
// test adds them.
class EvaluatorTest : public ::testing::Test {
protected:
  void SetUp() override {
    program.cluster = "test";
    auto reserved = [&](uint32_t id, const char* name) {
      ir::Identity identity;
      identity.id = id;
      identity.kind = ir::Identity::Kind::Reserved;
      identity.name = name;
      program.identities.push_back(identity);
    };
    reserved(POLC_IDENTITY_HOST, "host");
    reserved(POLC_IDENTITY_WORLD, "world");
    reserved(POLC_IDENTITY_UNKNOWN, "unknown");
    reserved(POLC_IDENTITY_REMOTE_NODE, "remote-node");
    for (auto [id, app] : {std::pair{kWeb, "web"}, {kDb, "db"}, {kFrontend, "frontend"}}) {
      ir::Identity identity;
      identity.id = id;
      identity.labels = {{"app", app}};
      program.identities.push_back(identity);
    }
    auto cidr = [&](uint32_t id, const char* text, ir::Identity::Kind kind, const char* name) {
      ir::Identity identity;
      identity.id = id;
      identity.kind = kind;
      identity.prefix = prefix(text);
      identity.name = name;
      program.identities.push_back(identity);
    };
    cidr(kCidr8, "10.0.0.0/8", ir::Identity::Kind::Cidr, "");
    cidr(kCidr16, "10.1.0.0/16", ir::Identity::Kind::Cidr, "");
    cidr(kCidrV6, "fd00:1::/32", ir::Identity::Kind::Cidr, "");
    cidr(kServiceVip, "10.96.0.5", ir::Identity::Kind::ServiceAddress, "db");

    auto endpoint = [&](const char* name, const char* node, uint32_t identity,
                        std::vector<const char*> addresses) {
      ir::Endpoint e;
      e.name = name;
      e.node = node;
      e.identity = identity;
      for (const char* address : addresses) e.addresses.push_back(prefix(address));
      program.endpoints.push_back(e);
    };
    endpoint("db-1", "node-2", kDb, {"10.0.2.20"});
    endpoint("frontend-1", "node-1", kFrontend, {"10.0.3.30"});
    endpoint("web-1", "node-1", kWeb, {"10.0.1.10", "fd00::10"});
    program.nodes.push_back({"node-1", prefix("192.168.1.1"), {"frontend-1", "web-1"}});
    program.nodes.push_back({"node-2", prefix("192.168.1.2"), {"db-1"}});
  }

  ir::Endpoint& endpoint(const std::string& name) {
    return const_cast<ir::Endpoint&>(*program.findEndpoint(name));
  }
  void isolate(const std::string& name, Direction direction) {
    auto& policy = endpoint(name).policy(direction);
    policy.isolated = true;
    policy.isolatedBy.push_back({"shop.pol", 3, 3});
  }
  static constexpr uint32_t kStableIdBase = 7000;
  // Adds a rule to the program and applies it to one endpoint.
  uint32_t rule(const std::string& name, Direction direction, ast::Verdict verdict,
                std::vector<uint32_t> peers, std::vector<L4Range> ports = {}) {
    ir::Rule r;
    r.id = uint32_t(program.rules.size());
    r.policy = name + "-policy";
    r.verdict = verdict;
    r.direction = direction;
    r.text = std::string(verdict == ast::Verdict::Allow ? "allow" : "deny") + " rule " +
             std::to_string(r.id);
    r.location = {"shop.pol", int(10 + r.id), 5};
    r.stableId = kStableIdBase + r.id; // what users see: not the position
    program.rules.push_back(r);
    std::sort(peers.begin(), peers.end());
    endpoint(name).policy(direction).rules.push_back({r.id, peers, ports});
    return r.id;
  }
  uint32_t allow(const std::string& name, Direction direction, std::vector<uint32_t> peers,
                 std::vector<L4Range> ports = {}) {
    return rule(name, direction, ast::Verdict::Allow, std::move(peers), std::move(ports));
  }
  uint32_t deny(const std::string& name, Direction direction, std::vector<uint32_t> peers,
                std::vector<L4Range> ports = {}) {
    return rule(name, direction, ast::Verdict::Deny, std::move(peers), std::move(ports));
  }

  Verdict eval(const std::string& from, const std::string& to, uint8_t protocol, uint16_t port,
               std::optional<uint8_t> type = {}, std::optional<uint8_t> code = {}) {
    auto result = tryEval(from, to, protocol, port, type, code);
    EXPECT_TRUE(result.ok()) << result.error();
    return result.ok() ? *result : Verdict{};
  }
  Expected<Verdict> tryEval(const std::string& from, const std::string& to, uint8_t protocol,
                            uint16_t port, std::optional<uint8_t> type = {},
                            std::optional<uint8_t> code = {}) {
    auto fromEnd = FlowEnd::parse(from);
    auto toEnd = FlowEnd::parse(to);
    if (!fromEnd) return Error{fromEnd.error()};
    if (!toEnd) return Error{toEnd.error()};
    return evaluate(program, {*fromEnd, *toEnd, uint8_t(protocol), port, type, code});
  }
  bool allowed(const std::string& from, const std::string& to, uint16_t port) {
    return eval(from, to, IPPROTO_TCP, port).allowed;
  }

  ir::Program program;
};

// ---- semantics ----

TEST_F(EvaluatorTest, NothingIsolatedAllowsEverything) {
  auto verdict = eval("web-1", "db-1", IPPROTO_TCP, 5432);
  EXPECT_TRUE(verdict.allowed);
  EXPECT_TRUE(verdict.egress.applies);
  EXPECT_TRUE(verdict.ingress.applies);
  EXPECT_EQ(verdict.egress.decision, Decision::AllowedNotIsolated);
  EXPECT_EQ(verdict.ingress.decision, Decision::AllowedNotIsolated);
  EXPECT_TRUE(verdict.ingress.decidingRules.empty());
}

TEST_F(EvaluatorTest, IsolationIsPerDirection) {
  isolate("db-1", Direction::Ingress);
  auto in = eval("web-1", "db-1", IPPROTO_TCP, 5432);
  EXPECT_FALSE(in.allowed);
  EXPECT_TRUE(in.egress.allowed);
  EXPECT_EQ(in.ingress.decision, Decision::DeniedIsolated);
  EXPECT_TRUE(in.ingress.isolated);
  EXPECT_EQ(
      in.reason,
      "the destination's ingress is isolated and no allow rule matches {app=web} on tcp/5432");
  // db-1's egress is not isolated.
  auto out = eval("db-1", "web-1", IPPROTO_TCP, 80);
  EXPECT_TRUE(out.allowed);
  EXPECT_FALSE(out.egress.isolated);
}

TEST_F(EvaluatorTest, IsolatedDirectionAllowsTheUnionOfItsAllowRules) {
  isolate("db-1", Direction::Ingress);
  uint32_t fromWeb = allow("db-1", Direction::Ingress, {kWeb}, {tcp(5432)});
  uint32_t fromFrontend = allow("db-1", Direction::Ingress, {kFrontend}, {tcp(6000, 6010)});
  uint32_t alsoWeb = allow("db-1", Direction::Ingress, {kWeb, kFrontend}, {tcp(5432), tcp(9000)});
  EXPECT_TRUE(allowed("web-1", "db-1", 5432));
  EXPECT_TRUE(allowed("web-1", "db-1", 9000));
  EXPECT_FALSE(allowed("web-1", "db-1", 6000));
  EXPECT_TRUE(allowed("frontend-1", "db-1", 6005));
  EXPECT_TRUE(allowed("frontend-1", "db-1", 5432));
  EXPECT_FALSE(allowed("frontend-1", "db-1", 22));
  // Every matching allow rule decides, in id order.
  auto verdict = eval("web-1", "db-1", IPPROTO_TCP, 5432);
  EXPECT_EQ(verdict.ingress.decidingRules, (std::vector<uint32_t>{fromWeb, alsoWeb}));
  EXPECT_EQ(verdict.ingress.decision, Decision::AllowedByRule);
  (void)fromFrontend;
}

// ---- audit policies (rule 6) ----

TEST_F(EvaluatorTest, AnAuditDenyPassesWhatEnforcementAllowsAndSaysSo) {
  uint32_t audited = deny("db-1", Direction::Ingress, {kWeb}, {tcp(5432)});
  program.rules[audited].audit = true;
  auto verdict = eval("web-1", "db-1", IPPROTO_TCP, 5432);
  EXPECT_TRUE(verdict.allowed);
  EXPECT_TRUE(verdict.audited);
  EXPECT_EQ(verdict.ingress.decision, Decision::AuditedByRule);
  EXPECT_EQ(verdict.ingress.decidingRules, (std::vector<uint32_t>{audited}));
  EXPECT_EQ(explainText(program, verdict).substr(0, 8), "audited:");
  EXPECT_EQ(explainJson(program, verdict)["verdict"], "audit");
  // Other ports: no audit rule matches.
  EXPECT_FALSE(eval("web-1", "db-1", IPPROTO_TCP, 80).audited);
}

TEST_F(EvaluatorTest, AnEnforcingDenyWinsOverAnAuditDeny) {
  uint32_t audited = deny("db-1", Direction::Ingress, {kWeb}, {tcp(5432)});
  program.rules[audited].audit = true;
  uint32_t enforced = deny("db-1", Direction::Ingress, {kWeb}, {tcp(5000, 6000)});
  auto verdict = eval("web-1", "db-1", IPPROTO_TCP, 5432);
  EXPECT_FALSE(verdict.allowed);
  EXPECT_FALSE(verdict.audited);
  EXPECT_EQ(verdict.ingress.decision, Decision::DeniedByRule);
  EXPECT_EQ(verdict.ingress.decidingRules, (std::vector<uint32_t>{enforced}));
}

TEST_F(EvaluatorTest, InAnEnforcedIsolationAnAuditDenyAuditsOnlyWhatIsAllowed) {
  isolate("db-1", Direction::Ingress);
  allow("db-1", Direction::Ingress, {kWeb}, {tcp(5432)});
  uint32_t audited = deny("db-1", Direction::Ingress, {POLC_IDENTITY_ANY});
  program.rules[audited].audit = true;
  EXPECT_EQ(eval("web-1", "db-1", IPPROTO_TCP, 5432).ingress.decision, Decision::AuditedByRule);
  EXPECT_EQ(eval("web-1", "db-1", IPPROTO_TCP, 22).ingress.decision, Decision::DeniedIsolated);
}

TEST_F(EvaluatorTest, IsolationByAuditPoliciesAuditsWhatNoAllowMatches) {
  auto& policy = endpoint("db-1").policy(Direction::Ingress);
  policy.auditIsolated = true;
  uint32_t audited = allow("db-1", Direction::Ingress, {kWeb}, {tcp(5432)});
  program.rules[audited].audit = true;
  auto fromWeb = eval("web-1", "db-1", IPPROTO_TCP, 5432);
  EXPECT_EQ(fromWeb.ingress.decision, Decision::AllowedByRule);
  EXPECT_FALSE(fromWeb.audited);
  auto fromFrontend = eval("frontend-1", "db-1", IPPROTO_TCP, 5432);
  EXPECT_TRUE(fromFrontend.allowed);
  EXPECT_TRUE(fromFrontend.audited);
  EXPECT_EQ(fromFrontend.ingress.decision, Decision::AuditedIsolated);
  EXPECT_NE(fromFrontend.reason.find("isolated by audit policies"), std::string::npos)
      << fromFrontend.reason;
}

TEST_F(EvaluatorTest, AuditAllowsTakeNoPartWhereEnforcingPoliciesIsolate) {
  isolate("db-1", Direction::Ingress);
  uint32_t audited = allow("db-1", Direction::Ingress, {kWeb}, {tcp(5432)});
  program.rules[audited].audit = true;
  auto verdict = eval("web-1", "db-1", IPPROTO_TCP, 5432);
  EXPECT_FALSE(verdict.allowed);
  EXPECT_EQ(verdict.ingress.decision, Decision::DeniedIsolated);
  EXPECT_TRUE(verdict.ingress.decidingRules.empty());
}

TEST_F(EvaluatorTest, DenyWinsInAnIsolatedDirection) {
  isolate("db-1", Direction::Ingress);
  allow("db-1", Direction::Ingress, {POLC_IDENTITY_ANY});
  uint32_t denySsh = deny("db-1", Direction::Ingress, {kWeb}, {tcp(22)});
  uint32_t denyAll = deny("db-1", Direction::Ingress, {kWeb});
  auto verdict = eval("web-1", "db-1", IPPROTO_TCP, 22);
  EXPECT_FALSE(verdict.allowed);
  EXPECT_EQ(verdict.ingress.decision, Decision::DeniedByRule);
  EXPECT_EQ(verdict.ingress.decidingRules, (std::vector<uint32_t>{denySsh, denyAll}));
  EXPECT_EQ(verdict.reason,
            "denied by rules 7001 (policy \"db-1-policy\", shop.pol:11:5), 7002 (policy "
            "\"db-1-policy\", shop.pol:12:5) on the destination's ingress");
  EXPECT_TRUE(allowed("frontend-1", "db-1", 22));
}

TEST_F(EvaluatorTest, DenyWinsInADirectionThatIsNotIsolated) {
  uint32_t id = deny("web-1", Direction::Egress, {kDb}, {tcp(5432)});
  auto verdict = eval("web-1", "db-1", IPPROTO_TCP, 5432);
  EXPECT_FALSE(verdict.allowed);
  EXPECT_FALSE(verdict.egress.isolated);
  EXPECT_EQ(verdict.egress.decidingRules, std::vector<uint32_t>{id});
  EXPECT_EQ(verdict.reason,
            "denied by rule 7000 (policy \"web-1-policy\", shop.pol:10:5) on the source's egress");
  EXPECT_TRUE(allowed("web-1", "db-1", 5433));
  EXPECT_TRUE(allowed("web-1", "frontend-1", 5432));
}

TEST_F(EvaluatorTest, BothSidesMustAllow) {
  isolate("web-1", Direction::Egress);
  allow("web-1", Direction::Egress, {kFrontend});
  isolate("db-1", Direction::Ingress);
  allow("db-1", Direction::Ingress, {kWeb}, {tcp(5432)});
  auto verdict = eval("web-1", "db-1", IPPROTO_TCP, 5432);
  EXPECT_FALSE(verdict.allowed);
  EXPECT_FALSE(verdict.egress.allowed);
  EXPECT_TRUE(verdict.ingress.allowed);
  EXPECT_EQ(verdict.reason,
            "the source's egress is isolated and no allow rule matches {app=db} on tcp/5432");
  allow("web-1", Direction::Egress, {kDb}, {tcp(5432)});
  EXPECT_TRUE(allowed("web-1", "db-1", 5432));
  // Both deny: the reason names both, the source's egress first.
  auto both = eval("web-1", "db-1", IPPROTO_TCP, 22);
  EXPECT_EQ(both.reason, "the source's egress is isolated and no allow rule matches {app=db} on "
                         "tcp/22; and the destination's ingress is isolated and no allow rule "
                         "matches {app=web} on tcp/22");
}

TEST_F(EvaluatorTest, AnyPeerIsAWildcard) {
  isolate("db-1", Direction::Ingress);
  allow("db-1", Direction::Ingress, {POLC_IDENTITY_ANY, kWeb}, {tcp(5432)});
  EXPECT_TRUE(allowed("web-1", "db-1", 5432));
  EXPECT_TRUE(allowed("frontend-1", "db-1", 5432));
  EXPECT_TRUE(eval("203.0.113.9", "db-1", IPPROTO_TCP, 5432).allowed);
  EXPECT_FALSE(allowed("frontend-1", "db-1", 5433));
}

TEST_F(EvaluatorTest, PortRangeEnds) {
  isolate("db-1", Direction::Ingress);
  allow("db-1", Direction::Ingress, {kWeb}, {tcp(8000, 8999)});
  EXPECT_FALSE(allowed("web-1", "db-1", 7999));
  EXPECT_TRUE(allowed("web-1", "db-1", 8000));
  EXPECT_TRUE(allowed("web-1", "db-1", 8999));
  EXPECT_FALSE(allowed("web-1", "db-1", 9000));
  EXPECT_FALSE(eval("web-1", "db-1", IPPROTO_UDP, 8000).allowed);
}

TEST_F(EvaluatorTest, IcmpTypeAndCode) {
  isolate("db-1", Direction::Ingress);
  allow("db-1", Direction::Ingress, {kWeb}, {icmpType(8), icmpTypeCode(3, 1)});
  auto icmp = [&](uint8_t type, uint8_t code) {
    return eval("web-1", "db-1", IPPROTO_ICMP, 0, type, code).allowed;
  };
  EXPECT_TRUE(icmp(8, 0));
  EXPECT_TRUE(icmp(8, 255));
  EXPECT_FALSE(icmp(0, 0));
  EXPECT_TRUE(icmp(3, 1));
  EXPECT_FALSE(icmp(3, 0));
  EXPECT_FALSE(icmp(3, 2));
  EXPECT_FALSE(icmp(9, 0));
  // The same 16-bit value under another protocol does not match.
  EXPECT_FALSE(allowed("web-1", "db-1", 8 << 8));
  EXPECT_EQ(eval("web-1", "db-1", IPPROTO_ICMP, 0, 3, 1).value, 0x0301);
  // An omitted code is code 0.
  EXPECT_FALSE(eval("web-1", "db-1", IPPROTO_ICMP, 0, 3).allowed);
}

TEST_F(EvaluatorTest, OtherProtocolsMatchOnlyRulesWithoutPorts) {
  isolate("db-1", Direction::Ingress);
  allow("db-1", Direction::Ingress, {kWeb}, {tcp(0, 65535)});
  EXPECT_FALSE(eval("web-1", "db-1", IPPROTO_GRE, 0).allowed);
  allow("db-1", Direction::Ingress, {kFrontend});
  allow("db-1", Direction::Ingress, {kWeb}, {L4Range{0, 0, 65535}});
  EXPECT_TRUE(eval("frontend-1", "db-1", IPPROTO_GRE, 0).allowed);
  EXPECT_TRUE(eval("web-1", "db-1", IPPROTO_GRE, 0).allowed);
}

TEST_F(EvaluatorTest, JudgeIsTheSameCoreWithoutAllocation) {
  isolate("db-1", Direction::Ingress);
  uint32_t a = allow("db-1", Direction::Ingress, {kWeb, kFrontend}, {tcp(80), tcp(443)});
  uint32_t d = deny("db-1", Direction::Ingress, {kFrontend}, {tcp(443)});
  const auto& db = *program.findEndpoint("db-1");
  auto j = judge(program, db, Direction::Ingress, kWeb, IPPROTO_TCP, 443);
  EXPECT_EQ(j.decision, Decision::AllowedByRule);
  EXPECT_EQ(j.rule, a);
  j = judge(program, db, Direction::Ingress, kFrontend, IPPROTO_TCP, 443);
  EXPECT_EQ(j.decision, Decision::DeniedByRule);
  EXPECT_EQ(j.rule, d);
  j = judge(program, db, Direction::Ingress, kDb, IPPROTO_TCP, 443);
  EXPECT_EQ(j.decision, Decision::DeniedIsolated);
  EXPECT_EQ(j.rule, kNoRule);
  EXPECT_FALSE(j.allowed());
}

// ---- addresses and identities ----

TEST_F(EvaluatorTest, AddressesResolveByLongestPrefix) {
  auto id = [&](const char* address, const char* node = "node-1") {
    return resolveAddress(program, node, *parseAddress(address)).identity;
  };
  EXPECT_EQ(id("10.0.1.10"), kWeb); // endpoint /32 inside 10.0.0.0/8
  EXPECT_EQ(id("10.1.2.3"), kCidr16);
  EXPECT_EQ(id("10.2.0.1"), kCidr8);
  EXPECT_EQ(id("10.96.0.5"), kServiceVip);
  EXPECT_EQ(id("203.0.113.7"), POLC_IDENTITY_WORLD);
  EXPECT_EQ(id("192.168.1.1"), POLC_IDENTITY_HOST);
  EXPECT_EQ(id("192.168.1.2"), POLC_IDENTITY_REMOTE_NODE);
  EXPECT_EQ(id("192.168.1.2", "node-2"), POLC_IDENTITY_HOST);
  EXPECT_EQ(id("fd00::10"), kWeb);
  EXPECT_EQ(id("fd00:1:2::3"), kCidrV6);
  EXPECT_EQ(id("fd00:2::1"), POLC_IDENTITY_WORLD);
  EXPECT_EQ(resolveAddress(program, "node-1", *parseAddress("fd00::10")).endpoint,
            program.findEndpoint("web-1"));
}

// The index polc diff resolves its address ends with finds what the walk
// over the program finds, on every node.
TEST_F(EvaluatorTest, AddressIndexAgreesWithResolveAddress) {
  const AddressIndex index(program);
  for (const char* address : {"10.0.1.10", "10.1.2.3", "10.2.0.1", "10.96.0.5", "203.0.113.7",
                              "192.168.1.1", "192.168.1.2", "fd00::10", "fd00:1:2::3", "fd00:2::1",
                              "0.0.0.0", "255.255.255.255", "::", "10.0.0.0"})
    for (const char* node : {"node-1", "node-2", ""}) {
      SCOPED_TRACE(std::string(address) + " on " + node);
      auto walked = resolveAddress(program, node, *parseAddress(address));
      auto indexed = index.resolve(*parseAddress(address)).on(node);
      EXPECT_EQ(indexed.identity, walked.identity);
      EXPECT_EQ(indexed.endpoint, walked.endpoint);
    }
}

TEST_F(EvaluatorTest, CidrPeersAndTheJudgingNode) {
  isolate("db-1", Direction::Ingress);
  allow("db-1", Direction::Ingress, {kCidr16}, {tcp(5432)});
  allow("db-1", Direction::Ingress, {POLC_IDENTITY_HOST}, {tcp(22)});
  auto fromCidr = eval("10.1.7.7", "db-1", IPPROTO_TCP, 5432);
  EXPECT_TRUE(fromCidr.allowed);
  EXPECT_FALSE(fromCidr.egress.applies);
  EXPECT_EQ(fromCidr.from.identity, kCidr16);
  EXPECT_FALSE(eval("10.2.7.7", "db-1", IPPROTO_TCP, 5432).allowed);
  // The destination's node judges: node-2's own address is HOST there,
  // node-1's is a remote node.
  EXPECT_EQ(eval("192.168.1.2", "db-1", IPPROTO_TCP, 22).node, "node-2");
  EXPECT_TRUE(eval("192.168.1.2", "db-1", IPPROTO_TCP, 22).allowed);
  EXPECT_FALSE(eval("192.168.1.1", "db-1", IPPROTO_TCP, 22).allowed);
  EXPECT_TRUE(eval("entity host", "db-1", IPPROTO_TCP, 22).allowed);
  EXPECT_EQ(eval("entity host", "db-1", IPPROTO_TCP, 22).from.address, prefix("192.168.1.2"));
  // From an endpoint to an address: the source's node judges.
  auto out = eval("web-1", "192.168.1.1", IPPROTO_TCP, 22);
  EXPECT_EQ(out.node, "node-1");
  EXPECT_EQ(out.to.identity, POLC_IDENTITY_HOST);
  EXPECT_FALSE(out.ingress.applies);
}

TEST_F(EvaluatorTest, EntityWorldIsAnAddressInNoPrefix) {
  isolate("web-1", Direction::Ingress);
  allow("web-1", Direction::Ingress, {POLC_IDENTITY_WORLD}, {tcp(443)});
  auto verdict = eval("entity world", "web-1", IPPROTO_TCP, 443);
  EXPECT_TRUE(verdict.allowed);
  EXPECT_EQ(verdict.from.identity, POLC_IDENTITY_WORLD);
  ASSERT_TRUE(verdict.from.address);
  EXPECT_EQ(resolveAddress(program, "node-1", *verdict.from.address).identity, POLC_IDENTITY_WORLD);
  EXPECT_FALSE(eval("entity world", "web-1", IPPROTO_TCP, 22).allowed);
  // When the usual candidate is covered, another one is picked.
  ir::Identity testNet;
  testNet.id = POLC_IDENTITY_FIRST_PREFIX + 9;
  testNet.kind = ir::Identity::Kind::Cidr;
  testNet.prefix = prefix("203.0.113.0/24");
  program.identities.push_back(testNet);
  EXPECT_EQ(eval("entity world", "web-1", IPPROTO_TCP, 443).from.identity, POLC_IDENTITY_WORLD);
}

TEST_F(EvaluatorTest, Ipv6Flows) {
  isolate("web-1", Direction::Ingress);
  allow("web-1", Direction::Ingress, {kCidrV6},
        {L4Range{IPPROTO_ICMPV6, 128 << 8, 128 << 8 | 255}});
  EXPECT_TRUE(eval("fd00:1::9", "fd00::10", IPPROTO_ICMPV6, 0, 128).allowed);
  EXPECT_FALSE(eval("fd00:2::9", "fd00::10", IPPROTO_ICMPV6, 0, 128).allowed);
  auto verdict = eval("fd00:1::9", "web-1", IPPROTO_ICMPV6, 0, 128);
  EXPECT_EQ(verdict.from.address, prefix("fd00:1::9"));
  EXPECT_EQ(verdict.to.endpoint, program.findEndpoint("web-1"));
  EXPECT_EQ(verdict.l4, "icmpv6 type 128 code 0");
}

TEST_F(EvaluatorTest, ClearErrors) {
  auto error = [&](const std::string& from, const std::string& to, uint8_t protocol, uint16_t port,
                   std::optional<uint8_t> type = {}) {
    auto result = tryEval(from, to, protocol, port, type);
    EXPECT_FALSE(result.ok());
    return result.ok() ? std::string() : result.error();
  };
  EXPECT_EQ(error("web1", "db-1", IPPROTO_TCP, 80),
            "no endpoint named 'web1' in the topology; did you mean 'web-1'?");
  // An entity written without `entity`, as `explain --from world` would.
  EXPECT_EQ(error("world", "db-1", IPPROTO_TCP, 80),
            "no endpoint named 'world' in the topology; did you mean 'entity world'?");
  EXPECT_EQ(error("203.0.113.1", "10.2.0.1", IPPROTO_TCP, 80),
            "neither 203.0.113.1 nor 10.2.0.1 is an endpoint; polc judges traffic from or to an "
            "endpoint");
  EXPECT_EQ(error("web-1", "db-1", IPPROTO_TCP, 0),
            "a tcp flow needs a destination port (1-65535)");
  EXPECT_EQ(error("web-1", "db-1", IPPROTO_ICMP, 0),
            "an icmp flow needs a type (e.g. 8, echo request)");
  EXPECT_EQ(error("fd00::10", "10.0.2.20", IPPROTO_TCP, 80),
            "the flow mixes an IPv4 and an IPv6 address");
  EXPECT_EQ(error("fd00::10", "db-1", IPPROTO_ICMP, 0, 8),
            "icmp is IPv4; use icmpv6 between IPv6 addresses");
  EXPECT_EQ(error("10.0.0.0/8", "db-1", IPPROTO_TCP, 80),
            "'10.0.0.0/8' is a prefix; a flow goes from or to one address");
  EXPECT_EQ(error("10.0.0.300", "db-1", IPPROTO_TCP, 80),
            "'10.0.0.300' is not an IPv4 or IPv6 address");
  EXPECT_EQ(error("entity cluster", "db-1", IPPROTO_TCP, 80),
            "unknown entity 'cluster': use 'entity world' or 'entity host'");
}

// ---- explanations ----

TEST_F(EvaluatorTest, ExplainNamesTheRulesAndTheirLocations) {
  isolate("db-1", Direction::Ingress);
  allow("db-1", Direction::Ingress, {kWeb}, {tcp(5432)});
  auto verdict = eval("web-1", "db-1", IPPROTO_TCP, 5432);
  auto text = explainText(program, verdict);
  EXPECT_NE(text.find("allowed: web-1 -> db-1 on tcp/5432\n"), std::string::npos) << text;
  EXPECT_NE(text.find("destination ingress of db-1: isolated, allowed\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("rule 7000  shop.pol:10:5  policy \"db-1-policy\": allow rule 0"),
            std::string::npos)
      << text;
  auto json = explainJson(program, verdict);
  EXPECT_EQ(json["verdict"], "allow");
  EXPECT_EQ(json["ingress"]["decision"], "allowed-by-rule");
  EXPECT_EQ(json["ingress"]["deciding_rules"][0]["location"], "shop.pol:10:5");
  EXPECT_EQ(json["ingress"]["deciding_rules"][0]["id"], 7000); // the stable id
  EXPECT_EQ(json["from"]["identity"], kWeb);
  EXPECT_EQ(json["egress"]["isolated"], false);

  auto denied = eval("frontend-1", "db-1", IPPROTO_TCP, 5432);
  auto deniedText = explainText(program, denied);
  EXPECT_NE(deniedText.find("  isolated by shop.pol:3:3\n"), std::string::npos) << deniedText;
  auto fromWorld = explainText(program, eval("203.0.113.7", "db-1", IPPROTO_TCP, 5432));
  EXPECT_NE(fromWorld.find("source egress: does not apply (the source is not an endpoint"),
            std::string::npos)
      << fromWorld;
}

// ---- the test-file format ----

std::string errorsOf(const std::string& text) {
  Diagnostics diagnostics;
  auto file = parseTestFile("t.poltest", text, diagnostics);
  EXPECT_EQ(file.has_value(), !diagnostics.hasErrors());
  std::string out;
  for (const auto& d : diagnostics.all()) {
    out += d.location.str() + ": " + d.message + " [" + d.name + "]";
    for (const auto& hint : d.hints) out += " (" + hint + ")";
    out += "\n";
  }
  return out;
}

TEST(PolicyTestFile, Parses) {
  Diagnostics diagnostics;
  auto file = parseTestFile("tests/shop.poltest",
                            "# a comment\n"
                            "policy ../shop.pol\n"
                            "topology ../shop.yaml   // trailing comment\n"
                            "\n"
                            "expect allow from web-1 to db-1 on tcp/5432\n"
                            "expect deny from 203.0.113.7 to web-1 on udp/53  # world\n"
                            "expect deny from entity world to fd00::10 on icmpv6 type 128\n"
                            "  expect allow from web-1 to entity host on icmp type 3 code 4\n",
                            diagnostics);
  ASSERT_TRUE(file) << diagnostics.render();
  ASSERT_EQ(file->expectations.size(), 4u);
  const auto& first = file->expectations[0];
  EXPECT_EQ(first.name, "tests/shop.poltest:5");
  EXPECT_EQ(first.verdict, "allow");
  EXPECT_EQ(first.policyFile, "shop.pol");
  EXPECT_EQ(first.topologyFile, "shop.yaml");
  EXPECT_EQ(first.flow.protocol, IPPROTO_TCP);
  EXPECT_EQ(first.flow.port, 5432);
  EXPECT_EQ(first.text, "allow from web-1 to db-1 on tcp/5432");
  EXPECT_EQ(file->expectations[1].flow.from.kind, FlowEnd::Kind::Address);
  EXPECT_EQ(file->expectations[2].flow.from.kind, FlowEnd::Kind::World);
  EXPECT_EQ(file->expectations[2].text,
            "deny from entity world to fd00::10 on icmpv6 type 128 code 0");
  const auto& last = file->expectations[3];
  EXPECT_EQ(last.location.str(), "tests/shop.poltest:8:3");
  EXPECT_EQ(last.flow.to.kind, FlowEnd::Kind::Host);
  EXPECT_EQ(*last.flow.icmpType, 3);
  EXPECT_EQ(*last.flow.icmpCode, 4);
}

TEST(PolicyTestFile, ErrorsHaveLocationsAndHints) {
  const std::string header = "policy p.pol\ntopology t.yaml\n";
  EXPECT_EQ(errorsOf(header + "expct allow from a to b on tcp/1\n"),
            "t.poltest:3:1: unknown directive 'expct' [test-unknown-directive] (did you mean "
            "'expect'?)\n");
  EXPECT_EQ(errorsOf("expect allow from a to b on tcp/1\n"),
            "t.poltest:1:1: no 'policy' line before this expectation [test-no-inputs] (start "
            "the file with 'policy FILE.pol' and 'topology FILE.yaml')\n");
  EXPECT_EQ(errorsOf(header + "expect permit from a to b on tcp/1\n"),
            "t.poltest:3:8: expected 'allow', 'deny' or 'audit', found 'permit' [test-syntax]\n");
  EXPECT_EQ(errorsOf(header + "expect allow a to b on tcp/1\n"),
            "t.poltest:3:14: expected 'from', found 'a' [test-syntax]\n");
  EXPECT_EQ(errorsOf(header + "expect allow from a to b\n"),
            "t.poltest:3:25: expected 'on' at the end of the line [test-syntax]\n");
  EXPECT_EQ(errorsOf(header + "expect allow from a to b on tcp/70000\n"),
            "t.poltest:3:29: '70000' is not a port (1-65535) [test-port]\n");
  EXPECT_EQ(errorsOf(header + "expect allow from a to b on tcp/80-90\n"),
            "t.poltest:3:29: 'tcp/80-90' is a range; an expectation is one packet [test-port] "
            "(write one expectation per port that matters, e.g. both ends of the range)\n");
  EXPECT_EQ(errorsOf(header + "expect allow from a to b on tpc/80\n"),
            "t.poltest:3:29: unknown protocol 'tpc' [test-protocol] (did you mean 'tcp'?)\n");
  EXPECT_EQ(errorsOf(header + "expect allow from a to b on icmp/8\n"),
            "t.poltest:3:29: icmp has no ports [test-port] (write icmp type T [code C])\n");
  EXPECT_EQ(errorsOf(header + "expect allow from a to b on icmp type 300\n"),
            "t.poltest:3:39: '300' is not an ICMP type (0-255) [test-port]\n");
  EXPECT_EQ(errorsOf(header + "expect allow from 10.0.0.0/8 to b on tcp/1\n"),
            "t.poltest:3:19: '10.0.0.0/8' is a prefix; a flow goes from or to one address "
            "[test-flow-end]\n");
  EXPECT_EQ(errorsOf(header + "expect allow from entity cluster to b on tcp/1\n"),
            "t.poltest:3:26: unknown entity 'cluster': use 'entity world' or 'entity host' "
            "[test-flow-end]\n");
  EXPECT_EQ(errorsOf(header + "expect allow from a to b on tcp/1 extra\n"),
            "t.poltest:3:35: unexpected 'extra' after the expectation [test-syntax] (comments "
            "start with # or //)\n");
  EXPECT_EQ(errorsOf("policy\n"),
            "t.poltest:1:7: expected a file path after 'policy' at the end of the line "
            "[test-syntax]\n");
  EXPECT_EQ(errorsOf(header + "expect allow from w\xff"
                              "b to b on tcp/1\n"),
            "t.poltest:3:20: the file is not valid UTF-8: unexpected byte 0xff [encoding] (test "
            "files are UTF-8 text; convert it, e.g. with iconv -t UTF-8)\n");
  // Every bad line is reported, not only the first.
  auto many = errorsOf(header + "bogus\nexpect allow from a to b on tcp/0\n");
  EXPECT_NE(many.find("t.poltest:3:1:"), std::string::npos) << many;
  EXPECT_NE(many.find("t.poltest:4:29:"), std::string::npos) << many;
  EXPECT_EQ(errorsOf(header), "t.poltest: no expectations in t.poltest [test-empty]\n");
}

// ---- the runner ----

class PolicyTestRunner : public EvaluatorTest {
protected:
  void SetUp() override {
    EvaluatorTest::SetUp();
    isolate("db-1", Direction::Ingress);
    allow("db-1", Direction::Ingress, {kWeb}, {tcp(5432)});
    deny("db-1", Direction::Ingress, {kFrontend});
    dir = std::filesystem::temp_directory_path() /
          ("polc-evaluator-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir / "tests");
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  std::string write(const std::string& name, const std::string& text) {
    auto path = dir / name;
    std::ofstream(path) << text;
    return path.string();
  }
  CompileFn fakeCompile() {
    return [this](const std::string& policy, const std::string& topology,
                  Diagnostics& diagnostics) -> std::optional<CompiledPolicy> {
      compiles.push_back(std::filesystem::path(policy).filename().string() + "+" +
                         std::filesystem::path(topology).filename().string());
      if (policy.ends_with("broken.pol")) {
        diagnostics.error(DiagnosticId::Syntax, {policy, 1, 1}, "broken");
        return std::nullopt;
      }
      return CompiledPolicy{program, {}};
    };
  }

  std::filesystem::path dir;
  std::vector<std::string> compiles;
};

TEST_F(PolicyTestRunner, ReportsEachExpectationAndACount) {
  auto path = write("tests/shop.poltest", "policy ../shop.pol\n"
                                          "topology ../shop.yaml\n"
                                          "expect allow from web-1 to db-1 on tcp/5432\n"
                                          "expect allow from frontend-1 to db-1 on tcp/5432\n"
                                          "expect deny from entity world to db-1 on tcp/5432\n"
                                          "expect deny from web1 to db-1 on tcp/5432\n");
  Diagnostics diagnostics;
  auto report = runTestFiles({path}, fakeCompile(), diagnostics);
  EXPECT_FALSE(diagnostics.hasErrors()) << diagnostics.render();
  ASSERT_EQ(report.cases.size(), 4u);
  EXPECT_EQ(report.passed(), 2u);
  EXPECT_EQ(report.failed(), 2u);
  EXPECT_EQ(compiles, std::vector<std::string>{"shop.pol+shop.yaml"}); // compiled once
  const auto& failed = report.cases[1];
  EXPECT_EQ(failed.name, path + ":4");
  EXPECT_EQ(*failed.actualVerdict, "deny");
  ASSERT_EQ(failed.decidingRules.size(), 1u);
  EXPECT_EQ(failed.decidingRules[0].location, "shop.pol:11:5");
  EXPECT_EQ(failed.decidingRules[0].side, "ingress of db-1");

  auto text = renderReport(report);
  EXPECT_EQ(text,
            "ok   " + path + ":3  expect allow from web-1 to db-1 on tcp/5432\n" + "FAIL " + path +
                ":4  expect allow from frontend-1 to db-1 on tcp/5432\n" +
                "     actual: deny: denied by rule 7001 (policy \"db-1-policy\", "
                "shop.pol:11:5) on the destination's ingress\n"
                "     ingress of db-1: rule 7001  shop.pol:11:5  policy \"db-1-policy\": deny "
                "rule 1\n" +
                "ok   " + path + ":5  expect deny from entity world to db-1 on tcp/5432\n" +
                "FAIL " + path + ":6  expect deny from web1 to db-1 on tcp/5432\n" +
                "     error: no endpoint named 'web1' in the topology; did you mean "
                "'web-1'?\n"
                "2 passed, 2 failed\n");
}

TEST_F(PolicyTestRunner, BadFilesAndBrokenPoliciesFail) {
  auto good = write("good.poltest", "policy shop.pol\ntopology shop.yaml\n"
                                    "expect allow from web-1 to db-1 on tcp/5432\n");
  auto bad = write("bad.poltest", "policy shop.pol\nexpect allow\n");
  auto broken = write("broken.poltest", "policy broken.pol\ntopology shop.yaml\n"
                                        "expect allow from web-1 to db-1 on tcp/5432\n"
                                        "expect deny from web-1 to db-1 on tcp/22\n");
  Diagnostics diagnostics;
  auto report = runTestFiles({good, bad, broken, (dir / "missing.poltest").string()}, fakeCompile(),
                             diagnostics);
  EXPECT_EQ(report.passed(), 1u);
  EXPECT_EQ(report.failed(), 4u);
  EXPECT_EQ(report.cases[1].name, bad);
  EXPECT_EQ(report.cases[1].error, "the test file has errors (see above)");
  EXPECT_NE(report.cases[2].error.find("broken.pol with "), std::string::npos);
  EXPECT_NE(report.cases[4].error.find("cannot read the test file"), std::string::npos);
  // The broken policy was compiled once for both of its expectations.
  EXPECT_EQ(std::count(compiles.begin(), compiles.end(), "broken.pol+shop.yaml"), 1);
  EXPECT_TRUE(renderReport(report).ends_with("\n1 passed, 4 failed\n"));
  EXPECT_TRUE(diagnostics.hasErrors());
}

} // namespace
} // namespace polc::evaluator
