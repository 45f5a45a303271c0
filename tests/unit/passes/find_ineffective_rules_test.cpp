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

// The lines of the rules reported shadowed, with the line of the rule that
// shadows each.
std::vector<std::pair<int, int>> shadowedLines(const std::string& policy) {
  testing::PassRun run;
  run.seedTopology();
  run.seedChecked(policy);
  EXPECT_TRUE(run.run(createLowerToIrPass())) << run.diagnostics.render();
  EXPECT_TRUE(run.run(createFindIneffectiveRulesPass()));
  std::vector<std::pair<int, int>> lines;
  for (const auto& d : run.diagnostics.all())
    if (d.name == "shadowed-rule") lines.emplace_back(d.location.line, d.notes.at(0).location.line);
  return lines;
}

// Candidates are looked up by peer and by the first port of the rule judged:
// every way an earlier rule can contain that port must still be found.
TEST(FindIneffectiveRulesPass, FindsTheShadowingRuleWhateverItsPortsLookLike) {
  using Lines = std::vector<std::pair<int, int>>;
  EXPECT_EQ(shadowedLines(R"(policy "p" { select app == "db" ingress {
  allow from app == "web" on tcp/10-20
  allow from app == "web" on tcp/15-18
  allow from app == "web" on tcp/1000-60000
  allow from app == "web" on tcp/2000, udp/53
  allow from any on sctp/9
  allow from app == "web"
  allow from app == "web" on udp/53
  allow from app == "web" on sctp/9
} })"),
            (Lines{{3, 2}, {8, 5}, {9, 6}}));
  // Only partly covered: by port, by protocol, by peer.
  EXPECT_EQ(shadowedLines(R"(policy "p" { select app == "db" ingress {
  allow from app == "web" on tcp/10-20
  allow from app == "web" on tcp/15-25
  allow from app == "web" on tcp/80
  allow from app == "web" on tcp
  allow from app == "web" on udp/53
  allow from app == "web" on udp/53, tcp/53
  allow from cidr 192.0.2.0/24 on tcp/443
  allow from cidr 192.0.2.0/24, 198.51.100.0/24 on tcp/443
} })"),
            Lines{});
  // Two earlier rules that cover it only together do not shadow it.
  EXPECT_EQ(shadowedLines(R"(policy "p" { select app == "db" ingress {
  allow from app == "web" on tcp/10-20
  allow from app == "web" on tcp/21-30
  allow from app == "web" on tcp/15-25
} })"),
            Lines{});
}

TEST(FindIneffectiveRulesPass, SaysWhatTheEarlierRuleDoes) {
  testing::PassRun run;
  run.seedTopology();
  run.seedChecked(R"(policy "p" { select app == "db" ingress {
  deny from app == "web"
  deny from app == "web" on tcp/22
} })");
  ASSERT_TRUE(run.run(createLowerToIrPass())) << run.diagnostics.render();
  EXPECT_TRUE(run.run(createFindIneffectiveRulesPass()));
  ASSERT_EQ(run.diagnostics.all().size(), 1u) << run.diagnostics.render();
  EXPECT_EQ(run.diagnostics.all()[0].message,
            "this rule changes nothing: an earlier rule already denies everything it matches, "
            "for every endpoint it applies to");
}

TEST(FindIneffectiveRulesPass, ConsumesTheIrAndProducesNothing) {
  auto pass = createFindIneffectiveRulesPass();
  EXPECT_EQ(pass.consumes, std::vector{pipeline::stage<ir::Program>()});
  EXPECT_TRUE(pass.produces.empty());
}

} // namespace
} // namespace polc::sema
