#include "polc/passes/policy_tables.h"

#include "pass_test_support.h"

#include "polc/passes/tables.h"

namespace polc::passes {
namespace {

TEST(BuildTablesPass, OneTablePerEndpointAndDirectionAndAnIpcachePerNode) {
  testing::PassRun run;
  run.seedTopology();
  run.seedProgram(
      R"(policy "p" { select app == "db" ingress { allow from app == "web" on tcp/5432 } })");
  ASSERT_TRUE(run.run(createBuildTablesPass()));
  const auto& tables = run.context.get<Tables>();
  ASSERT_EQ(tables.nodes.size(), 1u);
  const auto& node = tables.nodes[0];
  EXPECT_EQ(node.node, "n1");
  ASSERT_EQ(node.endpoints.size(), 2u);
  EXPECT_EQ(node.endpoints[0].endpoint, "db-1");
  EXPECT_TRUE(node.endpoints[0].ingress->isolated);
  ASSERT_EQ(node.endpoints[0].ingress->entries.size(), 1u);
  EXPECT_EQ(node.endpoints[0].ingress->entries[0].port, 5432);
  EXPECT_FALSE(node.endpoints[0].egress->isolated);
  // Equal policies share one table, whichever endpoint and direction: db-1's
  // egress and both of web-1's directions are open and empty.
  EXPECT_EQ(node.endpoints[0].egress, node.endpoints[1].ingress);
  EXPECT_EQ(node.endpoints[1].ingress, node.endpoints[1].egress);
  EXPECT_NE(node.endpoints[0].ingress, node.endpoints[0].egress);
  // Two endpoints, the node's own address and the service address.
  EXPECT_EQ(node.ipcache.entries.size(), 4u);
}

} // namespace
} // namespace polc::passes
