#include "polc/sema/check_label_spelling.h"

#include "pass_test_support.h"

namespace polc::sema {
namespace {

TEST(CheckLabelSpellingPass, WarnsWithTheClosestLabelAndGoesOn) {
  testing::PassRun run;
  run.seedTopology();
  run.seedChecked(R"(policy "p" { select app == "wbe" })");
  EXPECT_TRUE(run.run(createCheckLabelSpellingPass()));
  ASSERT_EQ(run.diagnostics.all().size(), 1u);
  const auto& warning = run.diagnostics.all()[0];
  EXPECT_EQ(warning.severity, Severity::Warning);
  EXPECT_NE(warning.hints.at(0).find("web"), std::string::npos) << run.diagnostics.render();
}

TEST(CheckLabelSpellingPass, ConsumesTheCheckedAstNotTheParsedOne) {
  auto pass = createCheckLabelSpellingPass();
  EXPECT_EQ(pass.consumes, (std::vector{pipeline::stage<pipeline::CheckedAst>(),
                                        pipeline::stage<topology::Topology>()}));
  EXPECT_TRUE(pass.produces.empty());
}

} // namespace
} // namespace polc::sema
