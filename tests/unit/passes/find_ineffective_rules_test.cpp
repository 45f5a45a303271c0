#include "polc/sema/find_ineffective_rules.h"

#include "pass_test_support.h"

#include "polc/ir/ir.h"
#include "polc/sema/lower_to_ir.h"

namespace polc::sema {
namespace {

TEST(FindIneffectiveRulesPass, WarnsAboutAShadowedRule) {
  testing::PassRun run;
  run.seedTopology();
  run.seedChecked(R"(policy "p" { select app == "db" ingress {
  allow from any on tcp
  allow from app == "web" on tcp/5432
} })");
  ASSERT_TRUE(run.run(createLowerToIrPass())) << run.diagnostics.render();
  EXPECT_TRUE(run.run(createFindIneffectiveRulesPass()));
  ASSERT_EQ(run.diagnostics.all().size(), 1u) << run.diagnostics.render();
  EXPECT_EQ(run.diagnostics.all()[0].name, "shadowed-rule");
  EXPECT_EQ(run.diagnostics.all()[0].location.line, 3);
}

TEST(FindIneffectiveRulesPass, ConsumesTheIrAndProducesNothing) {
  auto pass = createFindIneffectiveRulesPass();
  EXPECT_EQ(pass.consumes, std::vector{pipeline::stage<ir::Program>()});
  EXPECT_TRUE(pass.produces.empty());
}

} // namespace
} // namespace polc::sema
