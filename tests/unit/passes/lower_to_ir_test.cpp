#include "polc/sema/lower_to_ir.h"

#include "pass_test_support.h"

#include "polc/ir/ir.h"

namespace polc::sema {
namespace {

TEST(LowerToIrPass, ResolvesRulesPerEndpoint) {
  testing::PassRun run;
  run.seedTopology();
  run.seedChecked(
      R"(policy "p" { select app == "db" ingress { allow from app == "web" on tcp/5432 } })");
  ASSERT_TRUE(run.run(createLowerToIrPass())) << run.diagnostics.render();
  const auto& program = run.context.get<ir::Program>();
  ASSERT_EQ(program.rules.size(), 1u);
  const auto* db = program.findEndpoint("db-1");
  ASSERT_TRUE(db);
  EXPECT_TRUE(db->ingress.isolated);
  ASSERT_EQ(db->ingress.rules.size(), 1u);
  EXPECT_EQ(db->ingress.rules[0].peers,
            std::vector<uint32_t>{program.findEndpoint("web-1")->identity});
  EXPECT_FALSE(program.findEndpoint("web-1")->ingress.isolated);
}

TEST(LowerToIrPass, UnknownServiceIsAnErrorAndProducesNothing) {
  testing::PassRun run;
  run.seedTopology();
  run.seedChecked(R"(policy "p" { select any egress { allow to service "nope" } })");
  EXPECT_FALSE(run.run(createLowerToIrPass()));
  EXPECT_TRUE(run.diagnostics.hasErrors());
  EXPECT_FALSE(run.context.has<ir::Program>());
}

} // namespace
} // namespace polc::sema
