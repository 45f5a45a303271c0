// Stable rule ids (ir/rule_ids.h): what a rule is decides its id, not
// where it stands.
#include "polc/ir/rule_ids.h"

#include "polc_structs.h"

#include <gtest/gtest.h>

#include <set>

namespace polc::ir {
namespace {

Rule rule(std::string policy, ast::Direction direction, std::string text) {
  Rule r;
  r.policy = std::move(policy);
  r.direction = direction;
  r.text = std::move(text);
  return r;
}

// The program's rules in this order, numbered as lower-to-ir numbers them.
Program programOf(std::vector<ir::Rule> rules) {
  Program program;
  for (auto& r : rules) {
    r.id = uint32_t(program.rules.size());
    program.rules.push_back(std::move(r));
  }
  return program;
}

const auto in = ast::Direction::Ingress;
const auto out = ast::Direction::Egress;

TEST(StableRuleIds, ARuleKeepsItsIdWhenRulesAreAddedAboveOrReordered) {
  const auto web = rule("web", in, "allow from app == \"frontend\" on tcp/80");
  const auto db = rule("db", in, "allow from app == \"web\" on tcp/5432");
  const auto before = stableRuleIds(programOf({web, db}));
  const auto after =
      stableRuleIds(programOf({rule("web", out, "allow to app == \"db\" on tcp/5432"), db, web}));
  EXPECT_EQ(after[2], before[0]);
  EXPECT_EQ(after[1], before[1]);
}

TEST(StableRuleIds, AChangedRuleOrPolicyOrDirectionGetsAnotherId) {
  const auto base =
      stableRuleIds(programOf({rule("web", in, "allow from app == \"a\" on tcp/80")}));
  for (const auto& changed : {rule("web", in, "allow from app == \"a\" on tcp/81"),
                              rule("api", in, "allow from app == \"a\" on tcp/80"),
                              rule("web", out, "allow from app == \"a\" on tcp/80")})
    EXPECT_NE(stableRuleIds(programOf({changed}))[0], base[0]) << changed.policy << changed.text;
}

TEST(StableRuleIds, IdenticalRulesAreToldApartAndNoIdIsTheNoneMarker) {
  const auto same = rule("web", in, "allow from app == \"a\" on tcp/80");
  std::vector<ir::Rule> rules(50, same);
  for (int i = 0; i < 200; ++i)
    rules.push_back(
        rule("p" + std::to_string(i), out, "allow to world on udp/" + std::to_string(i)));
  const auto ids = stableRuleIds(programOf(rules));
  EXPECT_EQ(std::set<uint32_t>(ids.begin(), ids.end()).size(), ids.size());
  for (auto id : ids) EXPECT_NE(id, POLC_CT_RULE_NONE);
  // The first of the identical ones keeps its id when a copy is added.
  EXPECT_EQ(stableRuleIds(programOf({same}))[0], ids[0]);
}

} // namespace
} // namespace polc::ir
