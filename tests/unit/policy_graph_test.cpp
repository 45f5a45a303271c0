// polc graph's algorithm: a policy over a topology, compiled from text, and
// the allowed (and denied) flows between groups of ends.
#include "polc/driver/pipeline.h"
#include "polc/evaluator/evaluator.h"
#include "polc/evaluator/policy_graph.h"
#include "polc/frontend/parser.h"
#include "polc/pipeline/pipeline.h"
#include "polc/topology/loader.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <netinet/in.h>
#include <set>

namespace polc::evaluator {
namespace {

constexpr const char* kTopology = R"(cluster: c
namespaces: { shop: {}, ops: {} }
nodes:
  - name: n1
    address: 10.9.0.1
    endpoints:
      - { name: web-1, namespace: shop, labels: { app: web }, addresses: [10.0.0.1], interface: v1 }
      - { name: web-2, namespace: shop, labels: { app: web }, addresses: [10.0.0.2], interface: v2 }
      - { name: db-1, namespace: shop, labels: { app: db }, addresses: [10.0.0.3], interface: v3 }
      - { name: mon-1, namespace: ops, labels: { app: mon }, addresses: [10.0.0.4], interface: v4 }
)";

ir::Program compile(const std::string& policy) {
  Diagnostics diagnostics;
  auto file = frontend::parseText("p.pol", policy, diagnostics);
  auto topology = topology::loadText("t.yaml", kTopology, diagnostics);
  std::optional<ir::Program> program;
  if (file && topology) program = pipeline::analyze(*file, *topology, diagnostics);
  EXPECT_TRUE(program) << diagnostics.render();
  return program ? std::move(*program) : ir::Program{};
}

// Every policy isolates every endpoint in both directions, so only what the
// rules allow is drawn.
constexpr const char* kIsolated = R"(default deny ingress, egress
policy "db" {
  select app == "db"
  ingress {
    allow from app == "web" on tcp/5432
    deny from app == "mon" on tcp/5432
  }
}
policy "web" {
  select app == "web"
  egress {
    allow to app == "db" on tcp/5432, tcp/6000-6001
  }
}
policy "mon" {
  select app == "mon"
  egress {
    allow to app == "db" on tcp/5432
  }
}
)";

// "FROM -> TO verdict l4,l4" per edge, by group names.
std::vector<std::string> edges(const PolicyGraph& graph) {
  std::vector<std::string> lines;
  for (const auto& edge : graph.edges) {
    std::string line = graph.groups[edge.from].name + " -> " + graph.groups[edge.to].name +
                       (edge.deny ? " deny " : " allow ");
    auto texts = edge.l4Texts();
    for (size_t i = 0; i < texts.size(); ++i) line += (i ? "," : "") + texts[i];
    lines.push_back(line);
  }
  return lines;
}

const GraphGroup* group(const PolicyGraph& graph, const std::string& name) {
  for (const auto& g : graph.groups)
    if (g.name == name) return &g;
  return nullptr;
}

TEST(PolicyGraph, IdentityGroupsCollapseReplicasAndDrawAllowAndDenyEdges) {
  auto program = compile(kIsolated);
  auto graph = policyGraph(program);
  ASSERT_TRUE(graph) << graph.error();
  const auto* web = group(*graph, "shop/app=web");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->members, (std::vector<std::string>{"web-1", "web-2"}));
  // The egress allows 6000-6001 too, but db's ingress does not: only 5432
  // passes both sides. mon's flow is denied by db's deny rule.
  EXPECT_EQ(edges(*graph), (std::vector<std::string>{
                               "ops/app=mon -> shop/app=db deny tcp/5432",
                               "shop/app=web -> shop/app=db allow tcp/5432",
                           }));
  EXPECT_TRUE(group(*graph, "ops/app=mon")->isolated);
  EXPECT_FALSE(web->isolated);
  EXPECT_TRUE(group(*graph, "world")->isolated);
  EXPECT_TRUE(group(*graph, "host")->isolated);
  // Two web replicas judged as one class.
  EXPECT_LT(graph->classes, program.endpoints.size() + 3);
}

TEST(PolicyGraph, DecidingRulesAreOnTheEdges) {
  auto program = compile(kIsolated);
  auto graph = policyGraph(program);
  ASSERT_TRUE(graph);
  auto json = graphJson(program, *graph);
  ASSERT_EQ(json["edges"].size(), 2u);
  const auto& deny = json["edges"][0];
  EXPECT_EQ(deny["verdict"], "deny");
  ASSERT_EQ(deny["rules"].size(), 1u);
  const auto& rules = json["rules"];
  auto rule = std::find_if(rules.begin(), rules.end(),
                           [&](const auto& r) { return r["id"] == deny["rules"][0]; });
  ASSERT_NE(rule, rules.end());
  EXPECT_EQ((*rule)["policy"], "db");
  EXPECT_EQ((*rule)["location"], "p.pol:6:5");
  const auto& allow = json["edges"][1];
  EXPECT_EQ(allow["verdict"], "allow");
  EXPECT_EQ(allow["rules"].size(), 2u); // web's egress rule and db's ingress rule
  EXPECT_EQ(rules.size(), 3u);
  EXPECT_EQ(json["summary"]["isolated_groups"], graph->groups.size() - 2);
}

TEST(PolicyGraph, DotDrawsDenyDashedAndIsolatedMarked) {
  auto program = compile(kIsolated);
  auto graph = policyGraph(program);
  ASSERT_TRUE(graph);
  auto dot = graphDot(program, *graph);
  EXPECT_NE(dot.find("style=dashed, color=\"#cc0000\""), std::string::npos) << dot;
  EXPECT_NE(dot.find("(isolated)"), std::string::npos) << dot;
  EXPECT_NE(dot.find("label=\"deny tcp/5432\""), std::string::npos) << dot;
  EXPECT_EQ(dot, graphDot(program, *policyGraph(program))); // deterministic
}

TEST(PolicyGraph, OpenEndpointsTalkToEverythingOnAnyPort) {
  auto program = compile(R"(policy "db" {
  select app == "db"
  ingress {
    allow from app == "web" on tcp/5432
  }
}
)");
  auto graph = policyGraph(program);
  ASSERT_TRUE(graph);
  auto lines = edges(*graph);
  auto has = [&](const std::string& line) {
    return std::find(lines.begin(), lines.end(), line) != lines.end();
  };
  EXPECT_TRUE(has("shop/app=web -> shop/app=web allow any")); // between the two replicas
  EXPECT_TRUE(has("world -> shop/app=web allow any"));
  EXPECT_TRUE(has("shop/app=web -> shop/app=db allow tcp/5432"));
  EXPECT_FALSE(has("world -> shop/app=db allow any"));
  EXPECT_FALSE(has("ops/app=mon -> ops/app=mon allow any")); // one endpoint: no flow to itself
  for (const auto& g : graph->groups) EXPECT_FALSE(g.isolated) << g.name;
}

TEST(PolicyGraph, GroupsByNamespaceOrLabel) {
  auto program = compile(kIsolated);
  auto byNamespace = policyGraph(program, {{GraphGrouping::Kind::Namespace, ""}, {}, {}, {}});
  ASSERT_TRUE(byNamespace);
  EXPECT_EQ(edges(*byNamespace), (std::vector<std::string>{
                                     "namespace ops -> namespace shop deny tcp/5432",
                                     "namespace shop -> namespace shop allow tcp/5432",
                                 }));
  auto byApp = policyGraph(program, {{GraphGrouping::Kind::Label, "app"}, {}, {}, {}});
  ASSERT_TRUE(byApp);
  EXPECT_EQ(byApp->groups[0].name, "app=db");
  auto unknown = policyGraph(program, {{GraphGrouping::Kind::Label, "ap"}, {}, {}, {}});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error(),
            "--group-by label: no endpoint has the label 'ap'; did you mean 'app'?");
}

TEST(PolicyGraph, FiltersByEndsAndPort) {
  auto program = compile(kIsolated);
  GraphOptions options;
  options.from = *EndSelector::parse("app=mon");
  auto fromMon = policyGraph(program, options);
  ASSERT_TRUE(fromMon);
  EXPECT_EQ(edges(*fromMon),
            (std::vector<std::string>{"ops/app=mon -> shop/app=db deny tcp/5432"}));
  // Only the groups on an edge or selected are drawn.
  ASSERT_EQ(fromMon->groups.size(), 2u);
  EXPECT_EQ(fromMon->groups[0].name, "ops/app=mon");
  options.from.reset();
  options.port = ir::L4Range{0, 80, 80};
  auto port80 = policyGraph(program, options);
  ASSERT_TRUE(port80);
  EXPECT_TRUE(port80->edges.empty());
  options.to = *EndSelector::parse("app=nothing");
  auto none = policyGraph(program, options);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error(), "--to app=nothing selects no end of the topology");
  EXPECT_FALSE(EndSelector::parse("app=web,,x"));
  EXPECT_EQ(EndSelector::parse("world")->entity, "world");
}

TEST(PolicyGraph, DiffShowsAddedAndRemovedRanges) {
  auto before = compile(kIsolated);
  std::string changed = kIsolated;
  auto replace = [&](const std::string& from, const std::string& to) {
    auto at = changed.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    changed.replace(at, from.size(), to);
  };
  replace("allow from app == \"web\" on tcp/5432", "allow from app == \"web\" on tcp/5432-5433");
  replace("allow to app == \"db\" on tcp/5432, tcp/6000-6001",
          "allow to app == \"db\" on tcp/5433");
  replace("    deny from app == \"mon\" on tcp/5432\n", "");
  auto after = compile(changed);
  auto old = policyGraph(before), now = policyGraph(after);
  ASSERT_TRUE(old && now);
  auto diff = diffGraphs(*old, *now);
  std::vector<std::string> lines;
  for (const auto& edge : diff.edges) {
    const char* change = edge.change == GraphEdge::Change::Added     ? "added"
                         : edge.change == GraphEdge::Change::Removed ? "removed"
                                                                     : "same";
    lines.push_back(diff.groups[edge.from].name + " -> " + diff.groups[edge.to].name +
                    (edge.deny ? " deny " : " allow ") + edge.l4Texts().front() + " " + change);
  }
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "ops/app=mon -> shop/app=db deny tcp/5432 removed",
                       "shop/app=web -> shop/app=db allow tcp/5433 added",
                       "shop/app=web -> shop/app=db allow tcp/5432 removed",
                   }));
  auto dot = graphDot(after, diff);
  EXPECT_NE(dot.find("label=\"+ tcp/5433\", style=\"bold,solid\""), std::string::npos) << dot;
  EXPECT_NE(dot.find("label=\"- deny tcp/5432\", style=dotted"), std::string::npos) << dot;
  EXPECT_NE(dot.find("flows added and removed"), std::string::npos);

  // As JSON (the HTML report's data): each edge says what changed, and its
  // rules are those of the version that has its flows.
  auto json = graphJson(before, after, diff);
  EXPECT_EQ(json["differences"], true);
  EXPECT_EQ(json["summary"]["added_edges"], 1);
  EXPECT_EQ(json["summary"]["removed_edges"], 2);
  std::map<uint32_t, std::string> texts;
  for (const auto& rule : json["rules"]) texts[rule["id"].get<uint32_t>()] = rule["text"];
  std::vector<std::string> decided;
  for (const auto& edge : json["edges"])
    for (const auto& id : edge["rules"])
      decided.push_back(edge["change"].get<std::string>() + " " +
                        edge["verdict"].get<std::string>() + ": " + texts.at(id.get<uint32_t>()));
  std::sort(decided.begin(), decided.end());
  EXPECT_EQ(decided, (std::vector<std::string>{
                         "added allow: allow from app == \"web\" on tcp/5432-5433",
                         "added allow: allow to app == \"db\" on tcp/5433",
                         "removed allow: allow from app == \"web\" on tcp/5432",
                         "removed allow: allow to app == \"db\" on tcp/5432, tcp/6000-6001",
                         "removed deny: deny from app == \"mon\" on tcp/5432",
                     }));
}

// The graph agrees with the evaluator flow by flow on every example: an
// endpoint pair's flow that evaluate() allows (denies by a rule) lies in
// an allow (deny) edge between their groups, and every edge's ranges hold a
// flow of some member pair with that verdict.
class PolicyGraphExample : public testing::TestWithParam<const char*> {};

TEST_P(PolicyGraphExample, AgreesWithTheEvaluatorPerEndpointPair) {
  const std::string base = std::string(POLC_SOURCE_DIR) + "/examples/policies/" + GetParam();
  Diagnostics diagnostics;
  auto program = driver::compileToIr({base + ".pol", base + ".yaml"}, diagnostics);
  ASSERT_TRUE(program) << diagnostics.render();
  auto graph = policyGraph(*program);
  ASSERT_TRUE(graph) << graph.error();
  std::map<std::string, size_t> groupOf;
  for (size_t g = 0; g < graph->groups.size(); ++g)
    for (const auto& member : graph->groups[g].members) groupOf[member] = g;
  // Ports worth probing: every rule range's ends and the ports beside them.
  std::set<uint32_t> ports{1, 65535};
  for (const auto& endpoint : program->endpoints)
    for (const auto* policy : {&endpoint.ingress, &endpoint.egress})
      for (const auto& rule : policy->rules)
        for (const auto& range : rule.ports)
          for (uint32_t port : {uint32_t(range.first) - 1, uint32_t(range.first),
                                uint32_t(range.last), uint32_t(range.last) + 1})
            if (port >= 1 && port <= 65535) ports.insert(port);
  auto inEdge = [&](size_t from, size_t to, bool deny, uint8_t protocol, uint16_t port) {
    for (const auto& edge : graph->edges)
      if (edge.from == from && edge.to == to && edge.deny == deny)
        for (const auto& range : edge.ranges)
          if (range.protocol == protocol && range.first <= port && port <= range.last) return true;
    return false;
  };
  // (from group, to group, deny, protocol, port) seen from endpoint pairs.
  std::set<std::tuple<size_t, size_t, bool, uint8_t, uint16_t>> seen;
  size_t flows = 0;
  for (const auto& a : program->endpoints)
    for (const auto& b : program->endpoints) {
      if (a.name == b.name) continue;
      for (uint8_t protocol : {uint8_t(IPPROTO_TCP), uint8_t(IPPROTO_UDP)})
        for (uint32_t port : ports) {
          Flow flow{FlowEnd::endpoint(a.name),
                    FlowEnd::endpoint(b.name),
                    protocol,
                    uint16_t(port),
                    {},
                    {}};
          auto verdict = evaluate(*program, flow);
          ASSERT_TRUE(verdict) << verdict.error();
          ++flows;
          bool byRule = verdict->egress.decision == Decision::DeniedByRule ||
                        verdict->ingress.decision == Decision::DeniedByRule;
          if (!verdict->allowed && !byRule) continue;
          const bool deny = !verdict->allowed;
          const size_t from = groupOf.at(a.name), to = groupOf.at(b.name);
          EXPECT_TRUE(inEdge(from, to, deny, protocol, uint16_t(port)))
              << a.name << " -> " << b.name << " " << int(protocol) << "/" << port
              << (deny ? " denied by a rule" : " allowed") << " but not in the graph";
          seen.emplace(from, to, deny, protocol, uint16_t(port));
        }
    }
  EXPECT_GT(flows, 0u);
  // Each edge range between endpoint groups, probed at its ends.
  for (const auto& edge : graph->edges) {
    if (graph->groups[edge.from].kind != GraphGroup::Kind::Endpoints ||
        graph->groups[edge.to].kind != GraphGroup::Kind::Endpoints)
      continue;
    for (const auto& range : edge.ranges) {
      if (range.protocol != IPPROTO_TCP && range.protocol != IPPROTO_UDP) continue;
      for (uint16_t port : {range.first, range.last})
        if (ports.contains(port)) {
          EXPECT_TRUE(seen.contains({edge.from, edge.to, edge.deny, range.protocol, port}))
              << graph->groups[edge.from].name << " -> " << graph->groups[edge.to].name << " "
              << int(range.protocol) << "/" << port << " in the graph but no flow has it";
        }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Examples, PolicyGraphExample,
                         testing::Values("shop", "boutique", "tenants", "lockdown", "ipv6"));

} // namespace
} // namespace polc::evaluator
