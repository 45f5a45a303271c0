#include "polc/driver/pipeline.h"
#include "polc/ir/ir.h"
#include "polc/passes/table_stats.h"
#include "polc/pipeline/pipeline.h"

#include <gtest/gtest.h>

namespace polc::pipeline {
namespace {

const Inputs kShop{POLC_SOURCE_DIR "/examples/policies/shop.pol",
                   POLC_SOURCE_DIR "/examples/policies/shop.yaml"};

TEST(Pipeline, PassesInOrderFromTheInputs) {
  std::vector<std::string> names;
  for (const auto& pass : compilerPasses().passes()) names.push_back(pass.name);
  EXPECT_EQ(names, (std::vector<std::string>{"parse", "resolve-lets", "check-policies",
                                             "check-label-spelling", "lower-to-ir",
                                             "find-ineffective-rules", "build-tables",
                                             "check-table-capacity", "build-service-table"}));
  EXPECT_TRUE(compilerPasses().check({stage<Inputs>()}));
  // Without the inputs nothing can run.
  EXPECT_FALSE(compilerPasses().check({}));
}

TEST(Pipeline, EachStageHasItsOwnType) {
  Diagnostics diagnostics;
  PassContext context(diagnostics);
  context.put(kShop);
  auto outcome = compilerPasses().run(context);
  ASSERT_TRUE(outcome) << outcome.error();
  EXPECT_FALSE(outcome->failed) << diagnostics.render();
  EXPECT_TRUE(context.has<ParsedAst>());
  EXPECT_TRUE(context.has<topology::Topology>());
  EXPECT_TRUE(context.has<CheckedAst>());
  EXPECT_TRUE(context.has<ir::Program>());
  EXPECT_TRUE(context.has<passes::Tables>());
  EXPECT_TRUE(context.has<passes::TableStats>());
}

TEST(Pipeline, StopsAfterTheNamedPass) {
  Diagnostics diagnostics;
  PassContext context(diagnostics);
  context.put(kShop);
  auto outcome = compilerPasses().run(context, {.from = {}, .stopAfter = "resolve-lets"});
  ASSERT_TRUE(outcome) << outcome.error();
  EXPECT_EQ(outcome->last->name, "resolve-lets");
  EXPECT_TRUE(context.has<CheckedAst>());
  EXPECT_FALSE(context.has<ir::Program>());
}

// The build's passes: the compiler's, then codegen's plan.
TEST(Pipeline, BuildPassesEndWithTheProgramPlan) {
  const auto passes = driver::buildPasses();
  ASSERT_EQ(passes.passes().size(), compilerPasses().passes().size() + 1);
  EXPECT_EQ(passes.passes().back().name, "plan-programs");
  EXPECT_TRUE(passes.check({stage<Inputs>()}));
}

TEST(Pipeline, DumpAfterEveryPassIsStable) {
  const auto passes = driver::buildPasses();
  for (const auto& pass : passes.passes()) {
    Diagnostics first, second;
    auto a = driver::dumpAfter(kShop, pass.name, first);
    auto b = driver::dumpAfter(kShop, pass.name, second);
    ASSERT_TRUE(a) << first.render();
    EXPECT_EQ(a, b) << pass.name;
    EXPECT_TRUE(a->starts_with("# after " + pass.name + ": " + std::string(pass.shows().name)))
        << *a;
  }
}

TEST(Pipeline, DumpOfAFailedRunIsNothing) {
  Diagnostics diagnostics;
  auto dump = driver::dumpAfter({POLC_SOURCE_DIR "/tests/golden/diagnostics/unknown_let.pol",
                                 POLC_SOURCE_DIR "/tests/golden/diagnostics/topology.yaml"},
                                "lower-to-ir", diagnostics);
  EXPECT_FALSE(dump);
  EXPECT_TRUE(diagnostics.hasErrors());
}

// The plan's dump follows the build's --inline-max: no table inline at 0.
TEST(Pipeline, PlanDumpFollowsThePlanOptions) {
  Diagnostics first, second;
  auto inlined = driver::dumpAfter(kShop, "plan-programs", first);
  auto mapsOnly = driver::dumpAfter(kShop, "plan-programs", second, {.maxInlineEntries = 0});
  ASSERT_TRUE(inlined && mapsOnly);
  EXPECT_NE(inlined->find("-inline"), std::string::npos);
  EXPECT_EQ(mapsOnly->find("-inline"), std::string::npos);
}

} // namespace
} // namespace polc::pipeline
