#include "polc/passes/table_stats.h"

#include "pass_test_support.h"

#include "polc/passes/policy_tables.h"
#include "polc/pipeline/pipeline.h"

namespace polc::passes {
namespace {

TEST(CheckTableCapacityPass, CountsEveryTableAgainstItsMap) {
  testing::PassRun run;
  run.seedTopology();
  auto file = frontend::parseText(
      "p.pol",
      R"(policy "p" { select app == "db" ingress { allow from app == "web" on tcp/5432 } })",
      run.diagnostics);
  ASSERT_TRUE(file);
  auto program = pipeline::analyze(*file, run.context.get<topology::Topology>(), run.diagnostics);
  ASSERT_TRUE(program) << run.diagnostics.render();
  run.context.put(std::move(*program));
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
