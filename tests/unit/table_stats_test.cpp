// Table sizes and the capacity check: counts per endpoint and direction, and
// a policy generated to overflow its map must stop the compile with an error
// that names the endpoint, the direction, the counts and the rules to blame.
#include "polc/driver/pipeline.h"
#include "polc/frontend/parser.h"
#include "polc/passes/table_stats.h"
#include "polc/pipeline/pipeline.h"
#include "polc/topology/loader.h"

#include "polc_structs.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace polc {
namespace {

constexpr const char* kTopology = R"(cluster: c
nodes:
  - name: n1
    address: 10.9.0.1
    endpoints:
      - { name: a, labels: { app: a }, addresses: [10.0.0.1], interface: v1 }
      - { name: b, labels: { app: b }, addresses: [10.0.0.2], interface: v2 }
)";

// `peers` host CIDRs times `ports` single ports, none adjacent, so that no
// two entries merge into one prefix: exactly peers * ports entries; with
// `smallRules`, a rule of 1 entry before it and one of 16 after it.
std::string overflowingPolicy(int peers, int ports, bool smallRules = true) {
  std::string cidrs, portList;
  for (int i = 0; i < peers; ++i)
    cidrs += (i ? ", " : "") +
             ("192.168." + std::to_string(i / 250) + "." + std::to_string(1 + i % 250));
  for (int i = 0; i < ports; ++i) portList += (i ? ", tcp/" : "tcp/") + std::to_string(1 + 2 * i);
  std::string before = smallRules ? "    allow from app == \"b\" on tcp/80\n" : "\n";
  std::string after = smallRules ? "    allow from app == \"b\" on udp/1-65535\n" : "\n";
  return "policy \"big\" {\n  select app == \"a\"\n  ingress {\n" + before +
         "    allow from cidr " + cidrs + " on " + portList + "\n" + after + "  }\n}\n";
}

struct Analyzed {
  Diagnostics diagnostics;
  std::optional<ir::Program> program;
  std::optional<topology::Topology> topology;
};

Analyzed analyze(const std::string& policy) {
  Analyzed result;
  auto file = frontend::parseText("p.pol", policy, result.diagnostics);
  result.topology = topology::loadText("t.yaml", kTopology, result.diagnostics);
  if (file && result.topology)
    result.program = pipeline::analyze(*file, *result.topology, result.diagnostics);
  return result;
}

const Diagnostic* findDiagnostic(const Diagnostics& diagnostics, const std::string& name) {
  for (const auto& d : diagnostics.all())
    if (d.name == name) return &d;
  return nullptr;
}

TEST(TableStats, CountsEntriesRulesAndIsolationPerDirection) {
  auto r = analyze(R"(policy "p" { select app == "a"
    ingress { allow from app == "b" on tcp/80, tcp/443 }
    egress { } })");
  ASSERT_TRUE(r.program) << r.diagnostics.render();
  auto stats = passes::computeTableStats(*r.program, passes::buildAllTables(*r.program));
  ASSERT_EQ(stats.nodes.size(), 1u);
  const auto& node = stats.nodes[0];
  EXPECT_EQ(node.ipcacheEntries, 3u); // two endpoints and the node
  EXPECT_EQ(node.ipcacheCapacity, size_t(POLC_IPCACHE_MAX_ENTRIES));
  ASSERT_EQ(node.endpoints.size(), 2u);
  const auto& a = node.endpoints[0];
  EXPECT_EQ(a.name, "a");
  EXPECT_EQ(a.ingress.entries, 2u);
  EXPECT_EQ(a.ingress.rules, 1u);
  EXPECT_TRUE(a.ingress.isolated);
  EXPECT_EQ(a.ingress.capacity, size_t(POLC_POLICY_MAX_ENTRIES));
  EXPECT_EQ(a.egress.entries, 0u);
  EXPECT_TRUE(a.egress.isolated);
  EXPECT_FALSE(node.endpoints[1].ingress.isolated);
  EXPECT_EQ(stats.policyEntries, 2u);
  EXPECT_EQ(stats.isolatedDirections, 2u);

  Diagnostics diagnostics;
  passes::checkTableCapacity(*r.program, *r.topology, stats, diagnostics);
  EXPECT_FALSE(diagnostics.hasErrors());

  auto json = passes::statsJson(stats);
  EXPECT_EQ(json["nodes"][0]["endpoints"][0]["ingress"]["entries"], 2);
  EXPECT_EQ(json["totals"]["tables"], 4);
  auto text = passes::statsText(stats);
  EXPECT_NE(text.find("n1    a         ingress    yes           1        2    131072    0.00%"),
            std::string::npos)
      << text;
}

TEST(TableStats, FillPercentIsRoundedToTwoDecimals) {
  EXPECT_EQ(passes::fillPercent(1, 3), 33.33);
  EXPECT_EQ(passes::fillPercent(131072, 131072), 100.0);
  EXPECT_EQ(passes::fillPercent(0, 0), 0.0);
}

TEST(TableStats, OverflowIsAnErrorNamingEndpointDirectionCountsAndRules) {
  // 1320 peers x 100 ports = 132000 entries > 131072.
  auto r = analyze(overflowingPolicy(1320, 100));
  ASSERT_TRUE(r.program) << r.diagnostics.render();
  auto stats = passes::computeTableStats(*r.program, passes::buildAllTables(*r.program));
  const auto& a = stats.nodes[0].endpoints[0].ingress;
  EXPECT_EQ(a.entries, 132000u + 1 + 16);
  ASSERT_TRUE(a.overflows());
  ASSERT_GE(a.entriesByRule.size(), 3u);
  EXPECT_EQ(a.entriesByRule[0], (std::pair<uint32_t, size_t>{1, 132000}));
  EXPECT_EQ(a.entriesByRule[1], (std::pair<uint32_t, size_t>{2, 16}));

  Diagnostics diagnostics;
  diagnostics.addSource("p.pol", overflowingPolicy(1320, 100));
  passes::checkTableCapacity(*r.program, *r.topology, stats, diagnostics);
  ASSERT_EQ(diagnostics.errorCount(), 1u) << diagnostics.render();
  const auto& error = diagnostics.all()[0];
  EXPECT_EQ(error.name, "table-capacity");
  EXPECT_EQ(error.message,
            "endpoint a: the ingress policy table needs 132017 entries, above the map's capacity "
            "of 131072; rule " +
                std::to_string(r.program->rules[1].stableId) +
                " (policy \"big\") adds 132000 entries (1320 peer identities x 100 port prefixes)");
  EXPECT_EQ(error.location.str(), "p.pol:5:5"); // on the rule that costs most
  ASSERT_EQ(error.notes.size(), 2u);
  EXPECT_EQ(error.notes[0].location.str(), "p.pol:6:5");
  EXPECT_EQ(error.notes[0].message,
            "rule " + std::to_string(r.program->rules[2].stableId) +
                " (policy \"big\") adds 16 entries (1 peer identity x 16 port prefixes)");
  EXPECT_EQ(error.notes[1].location.str(), "p.pol:4:5");
  EXPECT_EQ(error.notes[1].message,
            "rule " + std::to_string(r.program->rules[0].stableId) +
                " (policy \"big\") adds 1 entry (1 peer identity x 1 port prefix)");
  ASSERT_FALSE(error.hints.empty());
  auto rendered = diagnostics.render();
  EXPECT_NE(rendered.find("tcp/8000-8099"), std::string::npos) << rendered;
}

TEST(TableStats, OverflowNamesAtMostFiveRules) {
  std::string policy = overflowingPolicy(1320, 100, false);
  std::string small;
  for (int port = 1000; port < 1006; ++port)
    small += "    allow from app == \"b\" on tcp/" + std::to_string(port) + "\n";
  policy.insert(policy.find("  }\n}"), small);
  auto r = analyze(policy);
  ASSERT_TRUE(r.program) << r.diagnostics.render();
  Diagnostics diagnostics;
  passes::checkTableCapacity(
      *r.program, *r.topology,
      passes::computeTableStats(*r.program, passes::buildAllTables(*r.program)), diagnostics);
  ASSERT_EQ(diagnostics.errorCount(), 1u);
  const auto& error = diagnostics.all()[0];
  EXPECT_EQ(error.notes.size(), 4u); // the top rule is the error itself
  EXPECT_EQ(error.hints.front(), "2 more rules add entries to this table");
}

TEST(TableStats, AFullTableIsNoError) {
  auto r = analyze(overflowingPolicy(512, 256, false));
  ASSERT_TRUE(r.program) << r.diagnostics.render();
  auto stats = passes::computeTableStats(*r.program, passes::buildAllTables(*r.program));
  EXPECT_EQ(stats.nodes[0].endpoints[0].ingress.entries, 131072u);
  Diagnostics diagnostics;
  passes::checkTableCapacity(*r.program, *r.topology, stats, diagnostics);
  EXPECT_FALSE(diagnostics.hasErrors()) << diagnostics.render();
}

// Through the pipeline the CLI uses: `polc check` and `polc build` stop here.
TEST(TableStats, CompileStopsOnOverflow) {
  auto dir =
      std::filesystem::temp_directory_path() /
      ("polc-stats-test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "p.pol") << overflowingPolicy(1320, 100);
  std::ofstream(dir / "t.yaml") << kTopology;
  Diagnostics diagnostics;
  auto compiled =
      driver::compile({(dir / "p.pol").string(), (dir / "t.yaml").string()}, diagnostics);
  std::filesystem::remove_all(dir);
  EXPECT_FALSE(compiled);
  ASSERT_NE(findDiagnostic(diagnostics, "table-capacity"), nullptr) << diagnostics.render();
}

} // namespace
} // namespace polc
