// polc bundle: split a build output into one loadable bundle per node.
#include "commands.h"

#include "polc/artifacts/bundle.h"
#include "polc/artifacts/manifest.h"
#include "polc/support/suggest.h"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>

namespace polc::cli {
namespace {

struct BundleOptions {
  std::string from;
  std::string bundlesDir = "bundles";
  std::vector<std::string> nodes;
};

// One bundle per node (all nodes by default): DIR/<node>/, a build output of
// its own that `polc load` takes as it is.
int runBundle(const std::string& outDir, std::vector<std::string> nodes,
              const std::string& bundlesDir, Format format) {
  auto manifest = polc::artifacts::readManifest(outDir);
  if (!manifest) return failSystem("bundle", manifest.failure(), format);
  std::vector<std::string> built;
  for (const auto& node : manifest->nodes) built.push_back(node.name);
  if (nodes.empty()) nodes = built;
  // A node the build does not have is the command line's input error, with
  // the closest name.
  for (const auto& node : nodes)
    if (std::find(built.begin(), built.end(), node) == built.end()) {
      std::string message = "--node " + node + ": " + outDir + " has no node '" + node + "'";
      if (auto match = polc::closestMatch(node, built))
        message += "; did you mean '" + *match + "'?";
      else {
        message += "; its nodes are:";
        for (const auto& name : built) message += " " + name;
      }
      return failInput("bundle", message, format);
    }
  auto written = nlohmann::json::array();
  for (const auto& node : nodes) {
    auto dir = std::filesystem::path(bundlesDir) / node;
    auto files = polc::artifacts::writeNodeBundle(outDir, node, dir);
    if (!files) return failSystem("bundle", files.failure(), format);
    written.push_back({{"node", node}, {"dir", dir.string()}, {"files", *files}});
    if (format == Format::Text)
      std::cout << "polc: bundle of " << node << ": " << dir.string() << " (" << *files
                << " files)\n";
  }
  if (format == Format::Json) printJson(nlohmann::json{{"ok", true}, {"bundles", written}});
  return kExitOk;
}

} // namespace

void registerBundle(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<BundleOptions>();
  auto* bundle = app.add_subcommand(
      "bundle", "Split a build output into one self-contained bundle per node (DIR/<node>/), "
                "each loadable alone with `polc load`");
  existingDirectory(bundle->add_option("out", options->from, "Build output directory")->required());
  bundle->add_option("-o,--out-dir", options->bundlesDir, "Where to write the bundles")
      ->capture_default_str();
  bundle->add_option("--node", options->nodes, "Only these nodes (default: every node)");
  addFormatOption(bundle, context.format, FormatFlag::FormatOnly);
  context.add(bundle, [options, &context] {
    return runBundle(options->from, options->nodes, options->bundlesDir, context.format);
  });
}

} // namespace polc::cli
