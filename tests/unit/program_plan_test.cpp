// codegen::planPrograms and shapeName: which programs a build gets, without
// clang or a kernel.
#include "polc/codegen/program_plan.h"

#include "polc_structs.h"

#include <gtest/gtest.h>

#include <set>

namespace polc::codegen {
namespace {

using artifacts::PolicyEntry;
using artifacts::PolicyTable;
using artifacts::Verdict;

constexpr uint8_t kTcp = 6;

PolicyEntry allowFrom(uint32_t identity, uint16_t port) {
  return {.identity = identity,
          .protocol = kTcp,
          .port = port,
          .portPrefixBits = 16,
          .verdict = Verdict::Allow,
          .ruleId = 1};
}

// An endpoint whose ingress is isolated with `entries`, its egress open.
passes::EndpointTables isolatedIngress(std::string name, std::vector<PolicyEntry> entries) {
  passes::EndpointTables tables;
  tables.endpoint = name;
  tables.ingress = std::make_shared<artifacts::PolicyTable>(
      artifacts::PolicyTable{.isolated = true, .entries = std::move(entries)});
  tables.egress = std::make_shared<artifacts::PolicyTable>();
  return tables;
}

// Both directions open and empty: nothing to enforce, no program.
passes::EndpointTables open(std::string name) {
  passes::EndpointTables tables = isolatedIngress(std::move(name), {});
  tables.ingress = std::make_shared<artifacts::PolicyTable>();
  return tables;
}

passes::NodeTables node(std::string name, std::vector<passes::EndpointTables> endpoints) {
  return {.node = std::move(name), .ipcache = {}, .endpoints = std::move(endpoints)};
}

TEST(PlanPrograms, EndpointsOfTheSameShapeShareOneProgram) {
  // Different peers and ports, same shape: one program, on both nodes.
  std::vector<passes::NodeTables> nodes = {
      node("node-a", {isolatedIngress("db-1", {allowFrom(300, 5432)}), open("debug-1")}),
      node("node-b", {isolatedIngress("web-1", {allowFrom(400, 80)})})};
  const ProgramPlan plan = planPrograms(nodes);

  ASSERT_EQ(plan.programs.size(), 1u);
  const PlannedProgram& program = plan.programs[0];
  EXPECT_EQ(program.endpoints, 2u);
  EXPECT_EQ(program.spec.endpoint, "db-1"); // its first endpoint
  EXPECT_EQ(program.source, emitEndpointC(program.spec));

  ASSERT_EQ(plan.nodes.size(), 2u);
  EXPECT_EQ(plan.nodes[0].node, "node-a");
  ASSERT_EQ(plan.nodes[0].endpoints.size(), 2u);
  EXPECT_EQ(plan.nodes[0].endpoints[0].endpoint, "db-1");
  EXPECT_EQ(plan.nodes[0].endpoints[0].program, 0u);
  EXPECT_EQ(plan.nodes[0].endpoints[1].endpoint, "debug-1");
  EXPECT_EQ(plan.nodes[0].endpoints[1].program, std::nullopt);
  EXPECT_EQ(plan.programOf(plan.nodes[0].endpoints[1]), nullptr);
  ASSERT_EQ(plan.nodes[1].endpoints.size(), 1u);
  EXPECT_EQ(plan.programOf(plan.nodes[1].endpoints[0]), &program);
}

TEST(PlanPrograms, ProgramsInOrderOfFirstUse) {
  std::vector<passes::NodeTables> nodes = {node(
      "node-a",
      {isolatedIngress("a-1", {allowFrom(300, 80), allowFrom(301, 80), allowFrom(302, 80)}),
       isolatedIngress("b-1", {allowFrom(300, 80)}),
       isolatedIngress("c-1", {allowFrom(301, 443), allowFrom(302, 443), allowFrom(303, 443)})})};
  const ProgramPlan plan = planPrograms(nodes);
  ASSERT_EQ(plan.programs.size(), 2u);
  EXPECT_EQ(plan.programs[0].spec.endpoint, "a-1");
  EXPECT_EQ(plan.programs[0].endpoints, 2u);
  EXPECT_EQ(plan.programs[1].spec.endpoint, "b-1");
  EXPECT_EQ(plan.nodes[0].endpoints[0].program, 0u);
  EXPECT_EQ(plan.nodes[0].endpoints[1].program, 1u);
  EXPECT_EQ(plan.nodes[0].endpoints[2].program, 0u);
}

TEST(PlanPrograms, SmallTablesAreInline) {
  std::vector<passes::NodeTables> nodes = {node(
      "node-a",
      {isolatedIngress("one-1", {allowFrom(300, 80)}),
       isolatedIngress("two-1", {allowFrom(300, 80), allowFrom(301, 80)}),
       isolatedIngress("three-1", {allowFrom(300, 80), allowFrom(301, 80), allowFrom(302, 80)})})};
  const ProgramPlan plan = planPrograms(nodes); // kMaxInlineEntries: 2
  ASSERT_EQ(plan.programs.size(), 3u);
  EXPECT_EQ(plan.programOf(plan.nodes[0].endpoints[0])->spec.ingressInlineEntries, 1u);
  EXPECT_EQ(plan.programOf(plan.nodes[0].endpoints[1])->spec.ingressInlineEntries, 2u);
  EXPECT_EQ(plan.programOf(plan.nodes[0].endpoints[2])->spec.ingressInlineEntries, 0u);
  for (const auto& program : plan.programs) EXPECT_EQ(program.spec.egressInlineEntries, 0u);

  // No inline tables: every table is a map, so all three share one program.
  const ProgramPlan mapsOnly = planPrograms(nodes, {.maxInlineEntries = 0});
  ASSERT_EQ(mapsOnly.programs.size(), 1u);
  EXPECT_EQ(mapsOnly.programs[0].spec.ingressInlineEntries, 0u);
  EXPECT_EQ(mapsOnly.programs[0].endpoints, 3u);
}

TEST(PlanPrograms, IsDeterministic) {
  std::vector<passes::NodeTables> nodes = {
      node("node-a",
           {isolatedIngress("a-1", {allowFrom(300, 80)}),
            isolatedIngress("b-1", {allowFrom(300, 80), allowFrom(301, 80), allowFrom(302, 80)})})};
  const ProgramPlan first = planPrograms(nodes), second = planPrograms(nodes);
  ASSERT_EQ(first.programs.size(), second.programs.size());
  for (size_t i = 0; i < first.programs.size(); ++i) {
    EXPECT_EQ(first.programs[i].shapeName, second.programs[i].shapeName);
    EXPECT_EQ(first.programs[i].source, second.programs[i].source);
  }
}

TEST(ShapeName, NamesTheSpecialization) {
  std::vector<passes::NodeTables> nodes = {node(
      "node-a",
      {isolatedIngress("inline-1", {allowFrom(300, 80)}),
       isolatedIngress("map-1", {allowFrom(300, 80), allowFrom(301, 80), allowFrom(302, 80)})})};
  const ProgramPlan plan = planPrograms(nodes);
  ASSERT_EQ(plan.programs.size(), 2u);
  // Mixed isolation: IPv6 verdicts are looked up (see POLC_IPV6).
  EXPECT_EQ(plan.programs[0].shapeName, "egress-open_ingress-isolated-peer-inline1_ipv6");
  EXPECT_EQ(plan.programs[1].shapeName, "egress-open_ingress-isolated-peer-len64_ipv6");

  // The default spec: the full datapath.
  EndpointProgramSpec full;
  full.egressProgram = full.ingressProgram = true;
  EXPECT_EQ(shapeName(full),
            "egress-open-peer-any-len32.48-64_ingress-open-peer-any-len32.48-64_ipv6");
}

// Every field of the spec that changes the C changes the name: distinct
// programs of one plan never share a name.
TEST(ShapeName, DistinctCDistinctName) {
  EndpointProgramSpec base;
  base.egressProgram = base.ingressProgram = true;
  base.egressIsolated = true;
  base.egressWildcardLookup = base.ingressPeerLookup = false;
  base.egressPolicyPrefixes = POLC_POLICY_PREFIX_BIT(64);
  base.ingressPolicyPrefixes = POLC_POLICY_PREFIX_BIT(32);
  base.ipv6 = false;
  std::vector<EndpointProgramSpec> specs(16, base);
  specs[1].egressProgram = false;
  specs[2].ingressProgram = false;
  specs[3].egressIsolated = false;
  specs[4].ingressIsolated = true;
  specs[5].egressPeerLookup = false;
  specs[6].egressWildcardLookup = true;
  specs[7].ingressPeerLookup = true;
  specs[8].ingressWildcardLookup = false;
  specs[9].egressPolicyPrefixes = POLC_POLICY_PREFIX_BIT(63);
  specs[10].ingressPolicyPrefixes = 0;
  specs[11].ipv6 = true;
  specs[12].egressInlineEntries = 2;
  specs[13].ingressInlineEntries = 4;
  specs[14].ingressInlineEntries = 1;
  specs[15].egressPolicyPrefixes |= POLC_POLICY_PREFIX_BIT(62);
  std::set<std::string> sources, names;
  for (const auto& spec : specs) {
    sources.insert(emitEndpointC(spec));
    names.insert(shapeName(spec));
  }
  EXPECT_EQ(sources.size(), specs.size());
  EXPECT_EQ(names.size(), specs.size());
  EXPECT_EQ(shapeName(base), "egress-isolated-peer-len64_ingress-open-any-len32_no-ipv6");
  EXPECT_EQ(shapeName(specs[15]), "egress-isolated-peer-len62.64_ingress-open-any-len32_no-ipv6");
}

} // namespace
} // namespace polc::codegen
