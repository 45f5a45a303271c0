#include "polc/passes/table_stats.h"

#include "pass_test_support.h"

#include "polc/passes/policy_tables.h"

namespace polc::passes {
namespace {

TEST(CheckTableCapacityPass, CountsEveryTableAgainstItsMap) {
  testing::PassRun run;
  run.seedTopology();
  run.seedProgram(
      R"(policy "p" { select app == "db" ingress { allow from app == "web" on tcp/5432 } })");
  ASSERT_TRUE(run.run(createBuildTablesPass()));
  ASSERT_TRUE(run.run(createCheckTableCapacityPass())) << run.diagnostics.render();
  const auto& stats = run.context.get<TableStats>();
  EXPECT_EQ(stats.endpoints, 2u);
  EXPECT_EQ(stats.policyEntries, 1u);
  EXPECT_EQ(stats.isolatedDirections, 1u);
  EXPECT_EQ(stats.ipcacheEntries, 4u);
}

TEST(CheckTableCapacityPass, NeedsTheTablesTheIrAndTheTopology) {
  auto pass = createCheckTableCapacityPass();
  EXPECT_EQ(pass.consumes, (std::vector{pipeline::stage<Tables>(), pipeline::stage<ir::Program>(),
                                        pipeline::stage<topology::Topology>()}));
  EXPECT_EQ(pass.produces, std::vector{pipeline::stage<TableStats>()});
}

} // namespace
} // namespace polc::passes
