#include "polc/frontend/parser.h"
#include "polc/pipeline/pipeline.h"
#include "polc/sema/sema.h"
#include "polc/topology/loader.h"

#include <gtest/gtest.h>

namespace polc {
namespace {

const char* kTopology = R"(cluster: c
nodes:
  - name: n1
    address: 10.9.0.1
    endpoints:
      - { name: web-1, labels: { app: web, env: prod }, addresses: [10.0.0.1], interface: v1 }
      - { name: web-2, labels: { app: web, env: prod }, addresses: [10.0.0.2], interface: v2 }
      - { name: db-1, labels: { app: db }, addresses: [10.0.0.3], interface: v3 }
      - { name: other, labels: { team: x }, addresses: [10.0.0.4], interface: v4 }
)";

struct Analyzed {
  Diagnostics diagnostics;
  std::optional<ir::Program> program;
};

Analyzed analyze(const std::string& policy, const std::string& topologyText = kTopology) {
  Analyzed result;
  auto file = frontend::parseText("p.pol", policy, result.diagnostics);
  auto topology = topology::loadText("t.yaml", topologyText, result.diagnostics);
  if (file && topology) result.program = pipeline::analyze(*file, *topology, result.diagnostics);
  return result;
}

TEST(Sema, SelectorSemantics) {
  topology::Labels labels{{"app", "web"}, {"env", "prod"}};
  Diagnostics diagnostics;
  auto check = [&](const std::string& selector) {
    auto file =
        frontend::parseText("s.pol", "policy \"p\" { select " + selector + " }", diagnostics);
    EXPECT_TRUE(file) << diagnostics.render();
    return sema::matches(*file->policies[0].select, labels);
  };
  EXPECT_TRUE(check(R"(app == "web")"));
  EXPECT_FALSE(check(R"(app == "db")"));
  EXPECT_TRUE(check(R"(tier != "x")")); // missing key is "not equal"
  EXPECT_TRUE(check(R"(env in ("dev", "prod"))"));
  EXPECT_FALSE(check(R"(env notin ("dev", "prod"))"));
  EXPECT_TRUE(check(R"(tier notin ("a"))"));
  EXPECT_TRUE(check("has(app) && !has(tier)"));
  EXPECT_TRUE(check(R"(app == "db" || env == "prod")"));
  EXPECT_TRUE(check("any"));
}

TEST(Sema, IsolationAndRulesPerEndpoint) {
  auto result = analyze(R"(
    let database = app == "db"
    policy "web" { select app == "web"
      ingress { allow from database on tcp/80 }
      egress { } }
  )");
  ASSERT_TRUE(result.program) << result.diagnostics.render();
  const auto& program = *result.program;
  const auto* web = program.findEndpoint("web-1");
  ASSERT_TRUE(web);
  EXPECT_TRUE(web->ingress.isolated);
  EXPECT_TRUE(web->egress.isolated); // an empty block isolates too
  ASSERT_EQ(web->ingress.rules.size(), 1u);
  const auto& rule = web->ingress.rules[0];
  ASSERT_EQ(rule.peers.size(), 1u);
  EXPECT_EQ(rule.peers[0], program.findEndpoint("db-1")->identity);
  EXPECT_EQ(program.rules[rule.rule].location.str(), "p.pol:4:17");
  const auto* db = program.findEndpoint("db-1");
  EXPECT_FALSE(db->ingress.isolated);
  EXPECT_FALSE(db->egress.isolated);
  // Endpoints with the same labels share an identity.
  EXPECT_EQ(web->identity, program.findEndpoint("web-2")->identity);
  EXPECT_NE(web->identity, db->identity);
}

TEST(Sema, UnknownLetIsAnErrorWithAHint) {
  auto result = analyze(R"(policy "p" { select frontend })");
  EXPECT_FALSE(result.program);
  ASSERT_EQ(result.diagnostics.errorCount(), 1u);
  EXPECT_EQ(result.diagnostics.all()[0].name, "unknown-let");
  EXPECT_EQ(result.diagnostics.all()[0].location.str(), "p.pol:1:21");
}

TEST(Sema, APolicyNameUsedTwiceIsAnErrorThatPointsAtTheFirst) {
  auto result = analyze(R"(policy "p" { select app == "web" ingress { } }
policy "p" { select app == "db" ingress { } })");
  EXPECT_FALSE(result.program);
  ASSERT_EQ(result.diagnostics.errorCount(), 1u) << result.diagnostics.render();
  const auto& d = result.diagnostics.all()[0];
  EXPECT_EQ(d.name, "duplicate-policy");
  EXPECT_EQ(d.location.str(), "p.pol:2:1");
  ASSERT_EQ(d.notes.size(), 1u);
  EXPECT_EQ(d.notes[0].location.str(), "p.pol:1:1");
}

TEST(Sema, APolicyWithoutABlockIsAWarning) {
  auto result = analyze(R"(policy "p" { select app == "web" })");
  ASSERT_TRUE(result.program);
  ASSERT_EQ(result.diagnostics.warningCount(), 1u) << result.diagnostics.render();
  EXPECT_EQ(result.diagnostics.all()[0].name, "empty-policy");
  // An empty block isolates: that is a policy that does something.
  EXPECT_EQ(analyze(R"(policy "p" { select app == "web" ingress { } })").diagnostics.warningCount(),
            0u);
}

TEST(Sema, SelectorMatchingNothingIsAWarning) {
  auto result =
      analyze(R"(policy "p" { select app == "nope" ingress { allow from app == "ghost" } })");
  ASSERT_TRUE(result.program);
  // Each selector: it matches nothing, and its value exists on no endpoint.
  ASSERT_EQ(result.diagnostics.warningCount(), 4u) << result.diagnostics.render();
  int empty = 0;
  for (const auto& d : result.diagnostics.all()) empty += d.name == "empty-selector";
  EXPECT_EQ(empty, 2);
}

TEST(Sema, IdentitiesDoNotChangeWhenUnrelatedEndpointsComeAndGo) {
  auto before = analyze(R"(policy "p" { select any })");
  std::string grown =
      std::string(kTopology) +
      "      - { name: new-1, labels: { app: new }, addresses: [10.0.0.9], interface: v9 }\n";
  auto after = analyze(R"(policy "p" { select any })", grown);
  ASSERT_TRUE(before.program && after.program);
  for (const auto& endpoint : before.program->endpoints)
    EXPECT_EQ(endpoint.identity, after.program->findEndpoint(endpoint.name)->identity)
        << endpoint.name;
  for (const auto& identity : after.program->identities) {
    if (identity.kind == ir::Identity::Kind::Endpoint) {
      EXPECT_GE(identity.id, 256u);
    }
  }
}

} // namespace
} // namespace polc
