#include "polc/pipeline/pass.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace polc::pipeline {
namespace {

// A pass from `consumes` to `produces` whose run is `body` (default: put
// every product, so a test controls only what it is about).
Pass fake(std::string name, std::vector<StageId> consumes, std::vector<StageId> produces,
          std::function<void(PassContext&)> body = {}) {
  Pass pass{std::move(name), "test pass", std::move(consumes), std::move(produces), {}, {}};
  pass.run = body ? body : [](PassContext& context) {
    if (!context.has<ParsedAst>()) context.put(ParsedAst{});
  };
  return pass;
}

// Runs `manager` over a context holding only the inputs.
Expected<PassManager::Outcome> runFromInputs(const PassManager& manager, Diagnostics& diagnostics) {
  PassContext context(diagnostics);
  context.put(Inputs{});
  return manager.run(context);
}

TEST(PassManager, ChecksThatEveryInputWasProducedEarlier) {
  PassManager ok;
  ok.add(fake("parse", {stage<Inputs>()}, {stage<ParsedAst>()}))
      .add(fake("use", {stage<ParsedAst>()}, {}));
  EXPECT_TRUE(ok.check({stage<Inputs>()}));

  PassManager outOfOrder;
  outOfOrder.add(fake("use", {stage<ParsedAst>()}, {}))
      .add(fake("parse", {stage<Inputs>()}, {stage<ParsedAst>()}));
  auto checked = outOfOrder.check({stage<Inputs>()});
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error(), "pass 'use' consumes the parsed AST, which no earlier pass produces");

  PassManager twice;
  twice.add(fake("a", {stage<Inputs>()}, {stage<ParsedAst>()}))
      .add(fake("b", {stage<Inputs>()}, {stage<ParsedAst>()}));
  EXPECT_FALSE(twice.check({stage<Inputs>()}));
}

TEST(PassManager, BrokenPipelineIsAnInternalErrorNotADiagnostic) {
  PassManager broken;
  broken.add(fake("use", {stage<CheckedAst>()}, {}));
  Diagnostics diagnostics;
  auto outcome = runFromInputs(broken, diagnostics);
  ASSERT_FALSE(outcome);
  EXPECT_NE(outcome.error().find("checked AST"), std::string::npos);
  EXPECT_TRUE(diagnostics.all().empty());
}

TEST(PassManager, StopsAfterTheFirstPassWithErrors) {
  int laterRuns = 0;
  PassManager manager;
  manager
      .add(fake("fails", {stage<Inputs>()}, {stage<ParsedAst>()},
                [](PassContext& context) {
                  context.diagnostics().error(DiagnosticId::Syntax, {"x.pol", 1, 1}, "broken");
                }))
      .add(fake("later", {stage<ParsedAst>()}, {}, [&](PassContext&) { ++laterRuns; }));
  Diagnostics diagnostics;
  auto outcome = runFromInputs(manager, diagnostics);
  ASSERT_TRUE(outcome) << outcome.error();
  EXPECT_TRUE(outcome->failed);
  EXPECT_EQ(outcome->last->name, "fails");
  EXPECT_EQ(laterRuns, 0);
  // Timed: each pass that ran, the failed one too (polc build --stats).
  ASSERT_EQ(outcome->times.size(), 1u);
  EXPECT_EQ(outcome->times[0].stage, "fails");
}

TEST(PassManager, TimesEveryPassThatRanInOrder) {
  PassManager manager;
  manager.add(fake("parse", {stage<Inputs>()}, {stage<ParsedAst>()}))
      .add(fake("use", {stage<ParsedAst>()}, {},
                [](PassContext&) { std::this_thread::sleep_for(std::chrono::milliseconds(2)); }));
  Diagnostics diagnostics;
  auto outcome = runFromInputs(manager, diagnostics);
  ASSERT_TRUE(outcome) << outcome.error();
  ASSERT_EQ(outcome->times.size(), 2u);
  EXPECT_EQ(outcome->times[0].stage, "parse");
  EXPECT_EQ(outcome->times[1].stage, "use");
  EXPECT_GE(outcome->times[1].elapsed, std::chrono::milliseconds(2));
}

TEST(PassManager, WarningsDoNotStopThePipeline) {
  int laterRuns = 0;
  PassManager manager;
  manager
      .add(fake("warns", {stage<Inputs>()}, {},
                [](PassContext& context) {
                  context.diagnostics().warning(DiagnosticId::ShadowedRule, {"x.pol", 1, 1}, "odd");
                }))
      .add(fake("later", {stage<Inputs>()}, {}, [&](PassContext&) { ++laterRuns; }));
  Diagnostics diagnostics;
  auto outcome = runFromInputs(manager, diagnostics);
  ASSERT_TRUE(outcome);
  EXPECT_FALSE(outcome->failed);
  EXPECT_EQ(laterRuns, 1);
}

TEST(PassManager, APassWithoutErrorsMustProduceWhatItDeclares) {
  PassManager manager;
  manager.add(fake("lazy", {stage<Inputs>()}, {stage<ParsedAst>()}, [](PassContext&) {}));
  Diagnostics diagnostics;
  auto outcome = runFromInputs(manager, diagnostics);
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error(), "pass 'lazy' reported no error but did not produce the parsed AST");
}

TEST(PassManager, RunsARangeFromTheStagesGiven) {
  std::vector<std::string> ran;
  auto record = [&](std::string name) {
    return [&ran, name](PassContext&) { ran.push_back(name); };
  };
  PassManager manager;
  manager.add(fake("a", {stage<Inputs>()}, {}, record("a")))
      .add(fake("b", {stage<ParsedAst>()}, {}, record("b")))
      .add(fake("c", {stage<ParsedAst>()}, {}, record("c")));
  Diagnostics diagnostics;
  PassContext context(diagnostics);
  context.put(ParsedAst{});
  ASSERT_TRUE(manager.run(context, {.from = "b", .stopAfter = "b"}));
  EXPECT_EQ(ran, (std::vector<std::string>{"b"}));
  // Starting at "a" needs the inputs, which were not given.
  EXPECT_FALSE(manager.run(context, {.from = "a", .stopAfter = {}}));
  EXPECT_FALSE(manager.run(context, {.from = "nope", .stopAfter = {}}));
}

TEST(PassManagerDeathTest, APassReadingWhatItDidNotDeclareIsABug) {
  PassManager manager;
  manager.add(fake("sneaky", {stage<Inputs>()}, {},
                   [](PassContext& context) { context.get<CheckedAst>(); }));
  Diagnostics diagnostics;
  PassContext context(diagnostics);
  context.put(Inputs{});
  context.put(CheckedAst{});
  EXPECT_DEATH((void)manager.run(context),
               "pass 'sneaky' reads the checked AST without declaring it");
}

TEST(PassManager, ListsPassesWithWhatTheyConsumeAndProduce) {
  PassManager manager;
  manager.add(fake("parse", {stage<Inputs>()}, {stage<ParsedAst>()}))
      .add(fake("check-something", {stage<ParsedAst>()}, {}));
  EXPECT_EQ(manager.listText(), "parse            inputs -> parsed AST         test pass\n"
                                "check-something  parsed AST -> (diagnostics)  test pass\n");
}

} // namespace
} // namespace polc::pipeline
