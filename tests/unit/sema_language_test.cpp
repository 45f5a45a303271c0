// Sema on the whole language: every peer kind, named and service ports,
// default deny, namespaces, and the warnings about ineffective rules.
#include "polc/frontend/parser.h"
#include "polc/ir/text.h"
#include "polc/pipeline/pipeline.h"
#include "polc/topology/loader.h"
#include "polc_structs.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

namespace polc {
namespace {

const char* kTopology = R"(cluster: c
namespaces:
  shop: { labels: { team: retail } }
  ops: { labels: { team: platform } }
nodes:
  - name: n1
    address: 10.9.0.1
    endpoints:
      - { name: web-1, namespace: shop, labels: { app: web }, addresses: [10.0.0.1, "fd00::1"], interface: v1, ports: { http: tcp/8080 } }
      - { name: web-2, namespace: shop, labels: { app: web }, addresses: [10.0.0.2], interface: v2, ports: { http: tcp/8080 } }
      - { name: db-1, namespace: shop, labels: { app: db }, addresses: [10.0.0.3], interface: v3, ports: { sql: tcp/5432 } }
      - { name: mon-1, namespace: ops, labels: { app: mon }, addresses: [10.0.0.4], interface: v4 }
  - name: n2
    address: 10.9.0.2
    endpoints:
      - { name: api-1, labels: { app: api }, addresses: [10.0.1.1], interface: v1, ports: { http: tcp/9090 } }
services:
  - { name: db, namespace: shop, vip: 10.96.0.5, ports: [tcp/5432], selector: { app: db } }
  - { name: web, namespace: shop, vip: 10.96.0.6, ports: [tcp/80 -> http], selector: { app: web } }
  - { name: ext, vip: 10.96.0.7, ports: ["tcp/443 -> 8443"], backends: [192.0.2.10, 10.0.0.4] }
groups:
  - { name: corp, cidrs: [192.168.0.0/16, "2001:db8::/32"] }
)";

struct Analyzed {
  Diagnostics diagnostics;
  std::optional<ir::Program> program;

  const ir::Endpoint& endpoint(const std::string& name) const {
    return *program->findEndpoint(name);
  }
  uint32_t identity(const std::string& name) const { return endpoint(name).identity; }
  uint32_t prefixIdentity(const std::string& prefix) const {
    for (const auto& identity : program->identities)
      if (identity.prefix && identity.prefix->text() == prefix) return identity.id;
    return 0;
  }
  bool warned(const std::string& name) const {
    return std::any_of(diagnostics.all().begin(), diagnostics.all().end(),
                       [&](const auto& d) { return d.name == name; });
  }
};

Analyzed analyze(const std::string& policy) {
  Analyzed result;
  auto file = frontend::parseText("p.pol", policy, result.diagnostics);
  auto topology = topology::loadText("t.yaml", kTopology, result.diagnostics);
  EXPECT_TRUE(file && topology) << result.diagnostics.render();
  if (file && topology) result.program = pipeline::analyze(*file, *topology, result.diagnostics);
  return result;
}

std::vector<uint32_t> sorted(std::vector<uint32_t> ids) {
  std::sort(ids.begin(), ids.end());
  return ids;
}

TEST(SemaLanguage, NamespaceLabelsScopeSelectors) {
  auto r = analyze(R"(policy "p" { select namespace == "shop" && namespace.team == "retail"
                        ingress { allow from namespace == "ops" } })");
  ASSERT_TRUE(r.program) << r.diagnostics.render();
  EXPECT_TRUE(r.endpoint("web-1").ingress.isolated);
  EXPECT_TRUE(r.endpoint("db-1").ingress.isolated);
  EXPECT_FALSE(r.endpoint("mon-1").ingress.isolated);
  EXPECT_FALSE(r.endpoint("api-1").ingress.isolated);
  ASSERT_EQ(r.endpoint("db-1").ingress.rules.size(), 1u);
  EXPECT_EQ(r.endpoint("db-1").ingress.rules[0].peers, std::vector<uint32_t>{r.identity("mon-1")});
}

TEST(SemaLanguage, ServicePeerIsBackendsAndAddressWithServicePorts) {
  auto r = analyze(R"(policy "p" { select app == "web" egress { allow to service "db" } })");
  ASSERT_TRUE(r.program) << r.diagnostics.render();
  const auto& rule = r.endpoint("web-1").egress.rules.at(0);
  EXPECT_EQ(rule.peers, sorted({r.identity("db-1"), r.prefixIdentity("10.96.0.5/32")}));
  ASSERT_EQ(rule.ports.size(), 1u);
  EXPECT_EQ(ir::toText(rule.ports[0]), "tcp/5432");
}

TEST(SemaLanguage, ServicePortsAreTheBackendsTargetPorts) {
  auto r = analyze(R"(policy "p" { select app == "api" egress { allow to service "web" } })");
  ASSERT_TRUE(r.program) << r.diagnostics.render();
  const auto& rule = r.endpoint("api-1").egress.rules.at(0);
  // Named target `http`: 8080 on the backends. The vip has no named port,
  // so no port of it: policy judges a service's flows after translation.
  EXPECT_EQ(rule.peers, sorted({r.identity("web-1")}));
  ASSERT_EQ(rule.ports.size(), 1u);
  EXPECT_EQ(ir::toText(rule.ports[0]), "tcp/8080");
}

TEST(SemaLanguage, ListedBackendsAreTheirEndpointsOrTheirOwnPrefixes) {
  auto r = analyze(R"(policy "p" { select app == "api" egress { allow to service "ext" } })");
  ASSERT_TRUE(r.program) << r.diagnostics.render();
  const auto& rule = r.endpoint("api-1").egress.rules.at(0);
  EXPECT_EQ(rule.peers, sorted({r.identity("mon-1"), r.prefixIdentity("192.0.2.10/32"),
                                r.prefixIdentity("10.96.0.7/32")}));
  ASSERT_EQ(rule.ports.size(), 1u);
  EXPECT_EQ(ir::toText(rule.ports[0]), "tcp/8443");
}

TEST(SemaLanguage, CidrExceptSelectsPrefixesInsideAndOutsideTheHoles) {
  auto r = analyze(R"(policy "p" { select app == "web" ingress {
      allow from cidr 172.16.0.0/12 except 172.16.5.0/24
      allow from cidr 172.16.5.128/25 on tcp/1 } })");
  ASSERT_TRUE(r.program) << r.diagnostics.render();
  const auto& rules = r.endpoint("web-1").ingress.rules;
  ASSERT_EQ(rules.size(), 2u);
  // 172.16.5.128/25 lies in the hole: the first rule must not include it.
  EXPECT_EQ(rules[0].peers, std::vector<uint32_t>{r.prefixIdentity("172.16.0.0/12")});
  EXPECT_EQ(rules[1].peers, std::vector<uint32_t>{r.prefixIdentity("172.16.5.128/25")});
  EXPECT_NE(r.prefixIdentity("172.16.5.0/24"), 0u);
  EXPECT_GE(r.prefixIdentity("172.16.0.0/12"), POLC_IDENTITY_FIRST_PREFIX);
}

// A cidr peer stands for every policy prefix inside it: nested prefixes
// that share an address, both families, the whole space with a hole.
TEST(SemaLanguage, CidrPeerTakesEveryPrefixInsideIt) {
  auto r = analyze(R"(policy "p" { select app == "web" ingress {
      allow from cidr 10.0.0.0/8 on tcp/1
      allow from cidr 10.0.0.0/16 on tcp/2
      allow from cidr 10.0.0.0/24 on tcp/3
      allow from cidr 10.1.0.0/16 on tcp/4
      allow from cidr 11.0.0.0/8 on tcp/5
      allow from cidr 0.0.0.0/0 except 10.0.0.0/16 on tcp/6
      allow from cidr fd00::/8 on tcp/7
      allow from cidr fd00::/64 on tcp/8 } })");
  ASSERT_TRUE(r.program) << r.diagnostics.render();
  const auto& rules = r.endpoint("web-1").ingress.rules;
  ASSERT_EQ(rules.size(), 8u);
  auto ids = [&](std::initializer_list<const char*> prefixes) {
    std::vector<uint32_t> result;
    for (const char* prefix : prefixes) result.push_back(r.prefixIdentity(prefix));
    return sorted(result);
  };
  EXPECT_EQ(rules[0].peers, ids({"10.0.0.0/8", "10.0.0.0/16", "10.0.0.0/24", "10.1.0.0/16"}));
  EXPECT_EQ(rules[1].peers, ids({"10.0.0.0/16", "10.0.0.0/24"}));
  EXPECT_EQ(rules[2].peers, ids({"10.0.0.0/24"}));
  EXPECT_EQ(rules[3].peers, ids({"10.1.0.0/16"}));
  EXPECT_EQ(rules[4].peers, ids({"11.0.0.0/8"}));
  // 192.0.2.10: a listed backend of service ext, outside the cluster.
  EXPECT_EQ(rules[5].peers,
            ids({"0.0.0.0/0", "10.0.0.0/8", "10.1.0.0/16", "11.0.0.0/8", "192.0.2.10/32"}));
  EXPECT_EQ(rules[6].peers, ids({"fd00::/8", "fd00::/64"}));
  EXPECT_EQ(rules[7].peers, ids({"fd00::/64"}));
}

TEST(SemaLanguage, GroupAndEntities) {
  auto r = analyze(R"(policy "p" { select app == "api" ingress {
      allow from group "corp"
      allow from entity world
      allow from entity host
      allow from entity cluster
      allow from entity all } })");
  ASSERT_TRUE(r.program) << r.diagnostics.render();
  const auto& rules = r.endpoint("api-1").ingress.rules;
  ASSERT_EQ(rules.size(), 5u);
  EXPECT_EQ(rules[0].peers,
            sorted({r.prefixIdentity("192.168.0.0/16"), r.prefixIdentity("2001:db8::/32")}));
  EXPECT_EQ(rules[1].peers,
            sorted({POLC_IDENTITY_WORLD, r.prefixIdentity("192.168.0.0/16"),
                    r.prefixIdentity("2001:db8::/32"), r.prefixIdentity("192.0.2.10/32")}));
  EXPECT_EQ(rules[2].peers, std::vector<uint32_t>{POLC_IDENTITY_HOST});
  auto& cluster = rules[3].peers;
  for (uint32_t id : {POLC_IDENTITY_HOST, POLC_IDENTITY_REMOTE_NODE, r.identity("web-1"),
                      r.identity("db-1"), r.prefixIdentity("10.96.0.5/32")})
    EXPECT_TRUE(std::binary_search(cluster.begin(), cluster.end(), id)) << id;
  EXPECT_FALSE(std::binary_search(cluster.begin(), cluster.end(), POLC_IDENTITY_WORLD));
  EXPECT_EQ(rules[4].peers, std::vector<uint32_t>{POLC_IDENTITY_ANY});
}

TEST(SemaLanguage, NamedPortsResolvePerDestination) {
  auto r = analyze(R"(
    policy "in" { select app == "web" || app == "db" ingress { allow from any on tcp/http } }
    policy "out" { select app == "mon" egress { allow to app in ("web", "api") on tcp/http, udp/53 } })");
  ASSERT_TRUE(r.program) << r.diagnostics.render();
  // Ingress: the selected endpoint's own named port; db-1 has no "http".
  ASSERT_EQ(r.endpoint("web-1").ingress.rules.size(), 1u);
  EXPECT_EQ(ir::portsText(r.endpoint("web-1").ingress.rules[0].ports), "tcp/8080");
  EXPECT_TRUE(r.endpoint("db-1").ingress.rules.empty());
  EXPECT_TRUE(r.endpoint("db-1").ingress.isolated);
  // Egress: each peer's named port, split by identity.
  const auto& out = r.endpoint("mon-1").egress.rules;
  ASSERT_EQ(out.size(), 2u);
  for (const auto& applied : out) {
    if (applied.peers == std::vector<uint32_t>{r.identity("web-1")})
      EXPECT_EQ(ir::portsText(applied.ports), "tcp/8080, udp/53");
    else
      EXPECT_EQ(ir::portsText(applied.ports), "tcp/9090, udp/53");
  }
}

// `entity all` has no endpoints behind its identity, yet a named port still
// means each destination endpoint's own port; other destinations have none.
TEST(SemaLanguage, NamedEgressPortsToAnyDestinationResolveOnEachEndpoint) {
  auto r = analyze(R"(
    policy "out" { select app == "mon" egress { allow to entity all on tcp/http, udp/53 } })");
  ASSERT_TRUE(r.program) << r.diagnostics.render();
  EXPECT_FALSE(r.warned("unresolved-named-port")) << r.diagnostics.render();
  std::map<std::string, std::vector<uint32_t>> peersByPorts;
  for (const auto& applied : r.endpoint("mon-1").egress.rules)
    peersByPorts[ir::portsText(applied.ports)] = applied.peers;
  ASSERT_EQ(peersByPorts.size(), 3u);
  EXPECT_EQ(peersByPorts["udp/53"], std::vector<uint32_t>{POLC_IDENTITY_ANY});
  EXPECT_EQ(peersByPorts["tcp/8080"], std::vector<uint32_t>{r.identity("web-1")});
  EXPECT_EQ(peersByPorts["tcp/9090"], std::vector<uint32_t>{r.identity("api-1")});
}

TEST(SemaLanguage, ANamedPortNoEndpointDefinesStillWarnsForAnyDestination) {
  auto r = analyze(R"(
    policy "out" { select app == "mon" egress { allow to entity all on tcp/nope } })");
  ASSERT_TRUE(r.program) << r.diagnostics.render();
  EXPECT_TRUE(r.warned("unresolved-named-port"));
  EXPECT_TRUE(r.endpoint("mon-1").egress.rules.empty());
}

TEST(SemaLanguage, IcmpTypesAndCodesBecomeRanges) {
  auto r = analyze(R"(policy "p" { select app == "db" ingress {
      allow from any on icmp type 8, icmp type 3 code 4, icmpv6, tcp } })");
  ASSERT_TRUE(r.program) << r.diagnostics.render();
  EXPECT_EQ(ir::portsText(r.endpoint("db-1").ingress.rules.at(0).ports),
            "icmp type 3 code 4, icmp type 8, tcp, icmpv6"); // by protocol number
}

TEST(SemaLanguage, DefaultDenyIsolatesWithoutRules) {
  auto r = analyze(R"(default deny egress for namespace == "shop"
                      default deny ingress)");
  ASSERT_TRUE(r.program) << r.diagnostics.render();
  EXPECT_TRUE(r.endpoint("web-1").egress.isolated);
  EXPECT_FALSE(r.endpoint("mon-1").egress.isolated);
  for (const auto& endpoint : r.program->endpoints) EXPECT_TRUE(endpoint.ingress.isolated);
  EXPECT_EQ(r.endpoint("web-1").egress.isolatedBy.at(0).line, 1);
}

TEST(SemaLanguage, UnknownServiceAndGroupAreErrorsWithHints) {
  auto r = analyze(
      R"(policy "p" { select any egress { allow to service "dbb" allow to group "crop" } })");
  EXPECT_FALSE(r.program);
  ASSERT_EQ(r.diagnostics.errorCount(), 2u) << r.diagnostics.render();
  EXPECT_NE(r.diagnostics.render().find("did you mean \"db\"?"), std::string::npos);
  EXPECT_NE(r.diagnostics.render().find("did you mean \"corp\"?"), std::string::npos);
}

TEST(SemaLanguage, MisspeltLabelsGetDidYouMean) {
  auto r = analyze(R"(policy "p" { select ap == "web" ingress { allow from app == "wbe" } })");
  ASSERT_TRUE(r.program) << r.diagnostics.render();
  auto text = r.diagnostics.render();
  EXPECT_NE(text.find("did you mean 'app'?"), std::string::npos) << text;
  EXPECT_NE(text.find("did you mean \"web\"?"), std::string::npos) << text;
}

TEST(SemaLanguage, ShadowedAndDeadRulesAreWarnings) {
  auto r = analyze(R"(policy "p" { select app == "db" ingress {
      allow from app == "web" on tcp/5000-6000
      allow from app == "web" on tcp/5432
      deny from app == "mon"
      allow from app == "mon" on tcp/5432
      allow from app == "api" on tcp/1-100
      allow from app == "api" on tcp/50-200 } })");
  ASSERT_TRUE(r.program) << r.diagnostics.render();
  int shadowed = 0, dead = 0;
  for (const auto& d : r.diagnostics.all()) {
    if (d.name == "shadowed-rule") {
      ++shadowed;
      EXPECT_EQ(d.location.line, 3);
      ASSERT_EQ(d.notes.size(), 1u);
      EXPECT_EQ(d.notes[0].location.line, 2);
    }
    if (d.name == "dead-allow") {
      ++dead;
      EXPECT_EQ(d.location.line, 5);
    }
  }
  EXPECT_EQ(shadowed, 1) << r.diagnostics.render(); // tcp/50-200 is only partly covered
  EXPECT_EQ(dead, 1) << r.diagnostics.render();
}

TEST(SemaLanguage, CidrCoveringEndpointsWarns) {
  auto r = analyze(R"(policy "p" { select app == "db" ingress { allow from cidr 10.0.0.0/8 } })");
  ASSERT_TRUE(r.program);
  EXPECT_TRUE(r.warned("cidr-covers-endpoints")) << r.diagnostics.render();
  // The endpoint addresses keep their own identities: the rule reaches the
  // CIDR's identity only.
  EXPECT_EQ(r.endpoint("db-1").ingress.rules.at(0).peers,
            std::vector<uint32_t>{r.prefixIdentity("10.0.0.0/8")});
}

TEST(SemaLanguage, PrefixIdentitiesAreStable) {
  auto a = analyze(R"(policy "p" { select any ingress { allow from cidr 1.2.3.0/24 } })");
  auto b =
      analyze(R"(policy "p" { select any ingress { allow from cidr 5.6.0.0/16, 1.2.3.0/24 } })");
  ASSERT_TRUE(a.program && b.program);
  EXPECT_EQ(a.prefixIdentity("1.2.3.0/24"), b.prefixIdentity("1.2.3.0/24"));
}

} // namespace
} // namespace polc
