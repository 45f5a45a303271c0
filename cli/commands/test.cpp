// polc test: run policy test files.
#include "commands.h"

#include "polc/driver/pipeline.h"
#include "polc/evaluator/policy_tests.h"

#include <iostream>
#include <memory>
#include <optional>

namespace polc::cli {
namespace {

struct TestOptions {
  std::vector<std::string> files;
  polc::WarningOptions warnings;
};

int runTest(const TestOptions& options) {
  polc::Diagnostics diagnostics;
  diagnostics.setWarningOptions(options.warnings);
  auto compile =
      [](const std::string& policy, const std::string& topology,
         polc::Diagnostics& diagnostics) -> std::optional<polc::evaluator::CompiledPolicy> {
    auto compiled = polc::driver::compile({policy, topology}, diagnostics);
    if (!compiled) return std::nullopt;
    return polc::evaluator::CompiledPolicy{std::move(compiled->program),
                                           std::move(compiled->services)};
  };
  auto report = polc::evaluator::runTestFiles(options.files, compile, diagnostics);
  printDiagnostics(diagnostics, Format::Text);
  std::cout << polc::evaluator::renderReport(report);
  return report.failed() == 0 ? kExitOk : kExitInputError;
}

} // namespace

void registerTest(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<TestOptions>();
  auto* test = app.add_subcommand(
      "test",
      "Run policy test files (expect allow|deny|audit from A to B on P); exit 1 on a failure");
  existingFile(test->add_option("files", options->files, "Test files (.poltest)")->required());
  addWarningOptions(test, options->warnings);
  context.add(test, [options] { return runTest(*options); });
}

} // namespace polc::cli
