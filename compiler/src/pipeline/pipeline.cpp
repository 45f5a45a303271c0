#include "polc/pipeline/pipeline.h"

#include "polc/artifacts/tables.h"
#include "polc/frontend/printer.h"
#include "polc/ir/text.h"
#include "polc/passes/policy_tables.h"
#include "polc/passes/table_stats.h"
#include "polc/pipeline/parse.h"
#include "polc/sema/check_label_spelling.h"
#include "polc/sema/check_policies.h"
#include "polc/sema/find_ineffective_rules.h"
#include "polc/sema/lower_to_ir.h"
#include "polc/sema/resolve_lets.h"
#include "polc/services/service_table_pass.h"

namespace polc::pipeline {

namespace {

PassManager makeCompilerPasses() {
  PassManager passes;
  passes.add(createParsePass())
      .add(sema::createResolveLetsPass())
      .add(sema::createCheckPoliciesPass())
      .add(sema::createCheckLabelSpellingPass())
      .add(sema::createLowerToIrPass())
      .add(sema::createFindIneffectiveRulesPass())
      .add(passes::createBuildTablesPass())
      // A table too big for its map is a compile error, not a load failure:
      // so `polc check` reports it too, with the rules to blame.
      .add(passes::createCheckTableCapacityPass())
      .add(services::createBuildServiceTablePass());
  if (auto checked = passes.check({stage<Inputs>()}); !checked) internalError(checked.error());
  return passes;
}

// Each node's ipcache and each endpoint's tables, in the files' form (a
// build writes a shared table once, under its digest: docs/artifacts.md).
std::string tablesText(const passes::Tables& tables) {
  std::string text;
  for (const auto& node : tables.nodes) {
    const auto dir = "nodes/" + node.node;
    text += "== " + dir + "/ipcache.json\n" + artifacts::toJsonText(node.ipcache);
    for (const auto& endpoint : node.endpoints)
      for (auto direction : {ast::Direction::Ingress, ast::Direction::Egress})
        text += "== " + dir + "/endpoints/" + endpoint.endpoint + " " +
                std::string(ast::toString(direction)) + " table\n" +
                artifacts::toJsonText(endpoint.table(direction));
  }
  return text;
}

// The stage must be there (dumpAfter checked).
std::string stageText(PassContext& context, const StageId& shown) {
  if (shown == stage<ParsedAst>()) return ast::toText(context.get<ParsedAst>().file);
  if (shown == stage<CheckedAst>()) return ast::toText(context.get<CheckedAst>().file);
  if (shown == stage<ir::Program>()) return ir::toText(context.get<ir::Program>());
  if (shown == stage<passes::Tables>()) return tablesText(context.get<passes::Tables>());
  if (shown == stage<passes::TableStats>())
    return passes::statsText(context.get<passes::TableStats>());
  if (shown == stage<services::ServiceTable>())
    return services::toJsonText(context.get<services::ServiceTable>());
  internalError("no text form for the " + std::string(shown.name));
}

} // namespace

const PassManager& compilerPasses() {
  static const PassManager passes = makeCompilerPasses();
  return passes;
}

std::string dumpAfter(PassContext& context, const Pass& pass) {
  if (!context.has(pass.shows())) return {};
  return "# after " + pass.name + ": " + std::string(pass.shows().name) + "\n" +
         (pass.text ? pass.text(context) : stageText(context, pass.shows()));
}

std::optional<ir::Program> analyze(const ast::File& file, const topology::Topology& topology,
                                   Diagnostics& diagnostics) {
  PassContext context(diagnostics);
  context.put(ParsedAst{file});
  context.put(topology);
  auto outcome = compilerPasses().run(context, {"resolve-lets", "find-ineffective-rules"});
  if (!outcome) internalError(outcome.error());
  if (outcome->failed || diagnostics.hasErrors()) return std::nullopt;
  return context.take<ir::Program>();
}

} // namespace polc::pipeline
