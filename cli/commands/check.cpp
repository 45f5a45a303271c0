// polc check: parse and analyze a policy against a topology.
#include "commands.h"

#include "polc/driver/pipeline.h"

#include <iostream>
#include <memory>

namespace polc::cli {
namespace {

struct CheckOptions {
  CompileOptions compile;
  std::string dumpAfter;
};

int runCheck(const CompileOptions& options, Format format) {
  auto diagnostics = options.diagnostics();
  auto compiled = polc::driver::compile({options.policy, options.topology}, diagnostics);
  printDiagnostics(diagnostics, format);
  if (format == Format::Json) {
    printJson(nlohmann::json{{"ok", compiled.has_value()}, {"diagnostics", diagnostics.toJson()}});
  } else if (compiled) {
    // The warnings counted on the line a reader looks at, not only above it.
    const auto warnings = diagnostics.warningCount();
    std::cout << options.policy << ": ok";
    if (warnings != 0) std::cout << ", " << warnings << (warnings == 1 ? " warning" : " warnings");
    std::cout << " (" << compiled->program.rules.size() << " rules, "
              << compiled->program.endpoints.size() << " endpoints)\n";
  }
  return compiled ? kExitOk : kExitInputError;
}

} // namespace

void registerCheck(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<CheckOptions>();
  auto* check = app.add_subcommand(
      "check", "Parse and analyze a policy against a topology; print diagnostics");
  addCompileOptions(check, options->compile);
  addFormatOption(check, context.format, FormatFlag::DeprecatedOutput);
  addListDiagnosticsOption(check, context.format); // after -o, whose value it reads
  addPassOptions(check, options->dumpAfter);
  context.add(check, [options, &context] {
    if (!options->dumpAfter.empty()) return runDump(options->compile, options->dumpAfter);
    return runCheck(options->compile, context.format);
  });
}

} // namespace polc::cli
