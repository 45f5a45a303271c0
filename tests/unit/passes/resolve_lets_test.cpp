#include "polc/sema/resolve_lets.h"

#include "pass_test_support.h"

#include "polc/frontend/printer.h"

namespace polc::sema {
namespace {

using pipeline::CheckedAst;
using pipeline::ParsedAst;

TEST(ResolveLetsPass, ReplacesReferencesInTheCheckedAstOnly) {
  testing::PassRun run;
  run.seedAst(R"(let db = app == "db"
policy "p" { select db ingress { allow from db } })");
  ASSERT_TRUE(run.run(createResolveLetsPass())) << run.diagnostics.render();
  EXPECT_EQ(ast::toText(*run.context.get<ParsedAst>().file.policies[0].select), "db");
  const auto& checked = run.context.get<CheckedAst>().file.policies[0];
  EXPECT_EQ(ast::toText(*checked.select), R"(app == "db")");
  EXPECT_EQ(ast::toText(checked.blocks[0].rules[0].peer), R"(app == "db")");
}

TEST(ResolveLetsPass, UnknownNameIsAnErrorAndProducesNothing) {
  testing::PassRun run;
  run.seedAst(R"(policy "p" { select frontend })");
  EXPECT_FALSE(run.run(createResolveLetsPass()));
  ASSERT_EQ(run.diagnostics.all().size(), 1u);
  EXPECT_EQ(run.diagnostics.all()[0].name, "unknown-let");
  EXPECT_FALSE(run.context.has<CheckedAst>());
}

} // namespace
} // namespace polc::sema
