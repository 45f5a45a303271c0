// polc diff: the flows whose verdict differs between two policy versions, as
// a list (text, JSON) or as a picture of what opens and closes (DOT, SVG, an
// HTML report).
#include "commands.h"
#include "usage.h"

#include "polc/artifacts/manifest.h"
#include "polc/driver/pipeline.h"
#include "polc/evaluator/policy_diff.h"
#include "polc/evaluator/policy_graph.h"
#include "polc/graph/html.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <future>
#include <iostream>
#include <map>
#include <memory>

namespace polc::cli {
namespace {

// What polc diff prints: a list of flows, or a picture.
enum class DiffFormat { Text, Json, Dot, Svg, Html };

struct DiffOptions {
  std::string oldPolicy;
  std::string newPolicy;
  std::string topology;
  std::string newTopology; // empty: the same topology
  polc::WarningOptions warnings;
  DiffFormat format = DiffFormat::Text;
  std::string output; // empty: stdout
};

// The two versions' graphs compared (evaluator::diffGraphs), in the picture
// format asked for.
Expected<std::string> differencesPicture(const ir::Program& before, const ir::Program& after,
                                         DiffFormat format) {
  namespace ev = polc::evaluator;
  auto oldGraph = ev::policyGraph(before);
  if (!oldGraph) return Error("the old version: " + oldGraph.error());
  auto newGraph = ev::policyGraph(after);
  if (!newGraph) return Error("the new version: " + newGraph.error());
  auto differences = ev::diffGraphs(*oldGraph, *newGraph);
  auto dot = ev::graphDot(after, differences);
  if (format == DiffFormat::Dot) return dot;
  return polc::graph::renderPicture(format == DiffFormat::Svg ? polc::graph::PictureFormat::Svg
                                                              : polc::graph::PictureFormat::Html,
                                    dot, ev::graphJson(before, after, differences));
}

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
  // The exit code says whether any flow changed, whatever is printed.
  auto diff = polc::evaluator::diffPolicies(*before, *after);
  std::string text;
  switch (options.format) {
  case DiffFormat::Json: {
    auto json = polc::evaluator::diffJson(*before, *after, diff);
    json["ok"] = true;
    json["diagnostics"] = {{"old", oldDiagnostics.toJson()}, {"new", newDiagnostics.toJson()}};
    text = polc::artifacts::dumpJson(json);
    break;
  }
  case DiffFormat::Text:
    text = polc::evaluator::diffText(*before, *after, diff);
    break;
  case DiffFormat::Dot:
  case DiffFormat::Svg:
  case DiffFormat::Html: {
    auto picture = differencesPicture(*before, *after, options.format);
    if (!picture) {
      failSystem("diff", picture.failure(), format);
      return kDiffTrouble;
    }
    text = std::move(*picture);
    break;
  }
  }
  if (writeOutput("diff", options.output, text, format) != kExitOk) return kDiffTrouble;
  return diff.empty() ? kDiffNoChange : kDiffChanges;
}

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return text;
}

} // namespace

void registerDiff(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<DiffOptions>();
  auto* diff = app.add_subcommand(
      "diff", "List the flows whose verdict differs between two versions of a policy, or draw "
              "them; exit 0 when none, 1 when some, 2 on errors (as diff(1))");
  existingFile(diff->add_option("old", options->oldPolicy, "The old policy (.pol)")->required());
  existingFile(diff->add_option("new", options->newPolicy, "The new policy (.pol)")->required());
  existingFile(
      diff->add_option("-t,--topology", options->topology, "Topology file (YAML)")->required());
  existingFile(diff->add_option("--new-topology", options->newTopology,
                                "Topology of the new version (default: --topology)"));
  // Its own --format: besides text and json, the pictures of polc graph.
  const auto setFormat = [options, &context](const std::string& option, const std::string& value) {
    static const std::map<std::string, DiffFormat> kFormats = {{"text", DiffFormat::Text},
                                                               {"json", DiffFormat::Json},
                                                               {"dot", DiffFormat::Dot},
                                                               {"svg", DiffFormat::Svg},
                                                               {"html", DiffFormat::Html}};
    auto found = kFormats.find(lowercase(value));
    if (found == kFormats.end()) invalidValue(option, value, "text|json|dot|svg|html");
    options->format = found->second;
    context.format = found->second == DiffFormat::Json ? Format::Json : Format::Text;
  };
  diff->add_option_function<std::string>(
          "--format", [setFormat](const std::string& value) { setFormat("--format", value); },
          "text (default) or json: the flows that change; dot, svg or html: the picture of polc "
          "graph with added flows in blue and removed ones in purple")
      ->type_name("text|json|dot|svg|html");
  // -o names the output file. `-o json` and `-o text` chose the format
  // before --format existed: still taken, with a deprecation note, for one
  // release (docs/cli.md).
  diff->add_option_function<std::string>(
          "-o,--output",
          [options, setFormat, diff](const std::string& value) {
            auto word = lowercase(value);
            if (word != "json" && word != "text") {
              options->output = value;
              return;
            }
            setFormat("-o", value);
            std::cerr << commandPath(diff) << ": -o " << value << " is deprecated; use --format "
                      << value << " (-o names the output file)\n";
          },
          "Write to FILE instead of stdout")
      ->type_name("FILE");
  addWarningOptions(diff, options->warnings);
  context.add(diff, [options, &context] { return runDiff(*options, context.format); });
}

} // namespace polc::cli
