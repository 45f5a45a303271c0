#include "polc/driver/pipeline.h"

#include "polc/codegen/plan_programs_pass.h"
#include "polc/passes/table_stats.h"
#include "polc/pipeline/pipeline.h"

#include <filesystem>

namespace polc::driver {

namespace {

// An input named by an absolute path is named relative to the working
// directory instead: source locations end up in the tables and the manifest,
// and two checkouts built from their roots must give the same bytes.
std::string relativeToWorkingDirectory(const std::string& path) {
  if (!std::filesystem::path(path).is_absolute()) return path;
  std::error_code ec;
  auto relative = std::filesystem::proximate(path, ec);
  return ec ? path : relative.lexically_normal().string();
}

// Runs `passes` over the inputs, through `stopAfter` (empty: all of them);
// they stop after the first that reported errors.
pipeline::PassManager::Outcome runPasses(const pipeline::PassManager& passes, const Inputs& given,
                                         std::string_view stopAfter,
                                         pipeline::PassContext& context) {
  context.put(Inputs{relativeToWorkingDirectory(given.policyFile),
                     relativeToWorkingDirectory(given.topologyFile)});
  auto outcome = passes.run(context, {.from = {}, .stopAfter = stopAfter});
  if (!outcome) pipeline::internalError(outcome.error());
  // Passes report in their own order; a person reads in file order.
  context.diagnostics().sort();
  return *outcome;
}

} // namespace

std::optional<Compiled> compile(const Inputs& given, Diagnostics& diagnostics) {
  pipeline::PassContext context(diagnostics);
  auto outcome = runPasses(pipeline::compilerPasses(), given, {}, context);
  if (outcome.failed || diagnostics.hasErrors()) return std::nullopt;
  std::vector<std::string> inputFiles = context.get<pipeline::ParsedAst>().file.files;
  inputFiles.push_back(context.get<Inputs>().topologyFile);
  return Compiled{std::move(inputFiles),
                  std::move(*context.take<topology::Topology>()),
                  std::move(*context.take<ir::Program>()),
                  std::move(context.take<passes::Tables>()->nodes),
                  std::move(*context.take<passes::TableStats>()),
                  std::move(*context.take<services::ServiceTable>()),
                  std::move(outcome.times)};
}

std::optional<ir::Program> compileToIr(const Inputs& given, Diagnostics& diagnostics) {
  pipeline::PassContext context(diagnostics);
  auto outcome = runPasses(pipeline::compilerPasses(), given, "find-ineffective-rules", context);
  if (outcome.failed || diagnostics.hasErrors()) return std::nullopt;
  return context.take<ir::Program>();
}

pipeline::PassManager buildPasses(const codegen::PlanOptions& options) {
  pipeline::PassManager passes = pipeline::compilerPasses();
  passes.add(codegen::createPlanProgramsPass(options));
  return passes;
}

std::optional<std::string> dumpAfter(const Inputs& given, std::string_view pass,
                                     Diagnostics& diagnostics,
                                     const codegen::PlanOptions& options) {
  const auto passes = buildPasses(options);
  const auto* last = passes.find(pass);
  if (!last) pipeline::internalError("no pass named '" + std::string(pass) + "'");
  pipeline::PassContext context(diagnostics);
  auto outcome = runPasses(passes, given, pass, context);
  if (outcome.failed || diagnostics.hasErrors()) return std::nullopt;
  return pipeline::dumpAfter(context, *last);
}

} // namespace polc::driver
