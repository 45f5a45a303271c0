// polc diff: the flows whose verdict differs between two policy versions.
#include "commands.h"

#include "polc/driver/pipeline.h"
#include "polc/evaluator/policy_diff.h"

#include <future>
#include <iostream>
#include <memory>

namespace polc::cli {
namespace {

struct DiffOptions {
  std::string oldPolicy;
  std::string newPolicy;
  std::string topology;
  std::string newTopology; // empty: the same topology
  polc::WarningOptions warnings;
};

// Exit codes follow diff(1), not polc's own (see docs/cli.md): 0 no
// change, 1 changes, 2 trouble (either version has errors, or usage).
int runDiff(const DiffOptions& options, Format format) {
  constexpr int kDiffNoChange = 0, kDiffChanges = 1, kDiffTrouble = 2;
  polc::Diagnostics oldDiagnostics, newDiagnostics;
  oldDiagnostics.setWarningOptions(options.warnings);
  newDiagnostics.setWarningOptions(options.warnings);
  // Verdicts need the resolved rules, not the tables (nor their capacity).
  // The two versions share nothing until compared: the old one is compiled
  // on a thread of its own.
  auto compilingBefore = std::async(std::launch::async, [&] {
    return polc::driver::compileToIr({options.oldPolicy, options.topology}, oldDiagnostics);
  });
  auto after = polc::driver::compileToIr(
      {options.newPolicy, options.newTopology.empty() ? options.topology : options.newTopology},
      newDiagnostics);
  auto before = compilingBefore.get();
  printDiagnostics(oldDiagnostics, format);
  printDiagnostics(newDiagnostics, format);
  if (!before || !after) {
    if (format == Format::Json)
      printJson(nlohmann::json{
          {"ok", false},
          {"error", "the policy has errors"},
          {"diagnostics", {{"old", oldDiagnostics.toJson()}, {"new", newDiagnostics.toJson()}}}});
    else
      std::cerr << "polc diff: " << (before ? "the new" : "the old")
                << " version has errors: nothing compared\n";
    return kDiffTrouble;
  }
  auto diff = polc::evaluator::diffPolicies(*before, *after);
  if (format == Format::Json) {
    auto json = polc::evaluator::diffJson(*before, *after, diff);
    json["ok"] = true;
    json["diagnostics"] = {{"old", oldDiagnostics.toJson()}, {"new", newDiagnostics.toJson()}};
    printJson(json);
  } else {
    std::cout << polc::evaluator::diffText(*before, *after, diff);
  }
  return diff.empty() ? kDiffNoChange : kDiffChanges;
}

} // namespace

void registerDiff(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<DiffOptions>();
  auto* diff = app.add_subcommand(
      "diff", "List the flows whose verdict differs between two versions of a policy; exit 0 "
              "when none, 1 when some, 2 on errors (as diff(1))");
  existingFile(diff->add_option("old", options->oldPolicy, "The old policy (.pol)")->required());
  existingFile(diff->add_option("new", options->newPolicy, "The new policy (.pol)")->required());
  existingFile(
      diff->add_option("-t,--topology", options->topology, "Topology file (YAML)")->required());
  existingFile(diff->add_option("--new-topology", options->newTopology,
                                "Topology of the new version (default: --topology)"));
  addFormatOption(diff, context.format, FormatFlag::DeprecatedOutput);
  addWarningOptions(diff, options->warnings);
  context.add(diff, [options, &context] { return runDiff(*options, context.format); });
}

} // namespace polc::cli
