// polc test: run policy test files.
#include "commands.h"

#include "polc/driver/pipeline.h"
#include "polc/evaluator/policy_tests.h"

#include <iostream>
#include <memory>
#include <optional>

namespace polc::cli {
namespace {

int runTest(const std::vector<std::string>& files) {
  polc::Diagnostics diagnostics;
  auto compile = [](const std::string& policy, const std::string& topology,
                    polc::Diagnostics& diagnostics) -> std::optional<polc::ir::Program> {
    auto compiled = polc::driver::compile({policy, topology}, diagnostics);
    if (!compiled) return std::nullopt;
    return std::move(compiled->program);
  };
  auto report = polc::evaluator::runTestFiles(files, compile, diagnostics);
  printDiagnostics(diagnostics, Format::Text);
  std::cout << polc::evaluator::renderReport(report);
  return report.failed() == 0 ? kExitOk : kExitInputError;
}

} // namespace

void registerTest(CLI::App& app, CommandContext& context) {
  auto files = std::make_shared<std::vector<std::string>>();
  auto* test = app.add_subcommand(
      "test", "Run policy test files (expect allow|deny from A to B on P); exit 1 on a failure");
  test->add_option("files", *files, "Test files (.poltest)")->required()->check(CLI::ExistingFile);
  context.add(test, [files] { return runTest(*files); });
}

} // namespace polc::cli
