// polc unload: detach and remove everything polc loaded.
#include "commands.h"

#include <iostream>
#include <memory>

namespace polc::cli {
namespace {

struct UnloadOptions {
  std::string node;
  bool force = false;
  PlacementOptions placement;
};

// The nodes to unload, one request each: "" (every node) or --node; with
// --lab only those that `status --lab` shows, so that the loads of another
// lab in the same state dir stay.
polc::Expected<std::vector<std::string>> nodesToUnload(polc::loader::Loader& loader,
                                                       const std::string& node,
                                                       const PlacementOptions& options) {
  if (options.labPrefix.empty()) return std::vector<std::string>{node};
  auto found = loader.status(labStatusRequest(options, node));
  if (!found) return polc::Error{found.error()};
  // A --node without state stays: --force then looks in the lab's namespace
  // for what a lost state left.
  if (!node.empty() && found->nodes.empty()) return std::vector<std::string>{node};
  std::vector<std::string> nodes;
  for (const auto& n : found->nodes)
    if (inLab(n, options.labPrefix)) nodes.push_back(n.node);
  return nodes;
}

int runUnload(const std::string& node, const PlacementOptions& options, bool force, bool netnsGiven,
              Format format) {
  auto loader = polc::loader::makeKernelLoader();
  auto nodes = nodesToUnload(*loader, node, options);
  if (!nodes) return failSystem("unload", nodes.failure(), format);
  polc::loader::UnloadReport total;
  std::string errors;
  for (const auto& name : *nodes) {
    polc::loader::UnloadRequest request{name, options.placement, options.lockTimeout()};
    request.force = force;
    request.netnsGiven = netnsGiven;
    request.nodeNetns = labNodeNetns(options.labPrefix);
    auto report = loader->unload(request);
    if (!report) {
      errors += (errors.empty() ? "" : "\n") + report.error();
      continue;
    }
    total.detached.insert(total.detached.end(), report->detached.begin(), report->detached.end());
    total.pinsRemoved += report->pinsRemoved;
  }
  if (!errors.empty()) return failSystem("unload", errors, format);
  if (format == Format::Json) {
    printJson(nlohmann::json{
        {"ok", true}, {"detached", total.detached.size()}, {"pins_removed", total.pinsRemoved}});
  } else {
    std::cout << "polc: unloaded: " << total.detached.size() << " program(s) detached, "
              << total.pinsRemoved << " pin(s) removed\n";
  }
  return kExitOk;
}

} // namespace

void registerUnload(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<UnloadOptions>();
  auto* unload = app.add_subcommand("unload", "Detach and remove everything polc loaded");
  unload->add_option("--node", options->node, "Only this node (default: all)");
  unload->add_flag("--force", options->force,
                   "Also when a node's state cannot be read: remove polc's filters (its handle and "
                   "priority) and the node's pins without it, then the broken state (docs/cli.md)");
  addPlacementOptions(unload, options->placement);
  addLockTimeoutOption(unload, options->placement);
  addFormatOption(unload, context.format, FormatFlag::DeprecatedOutput);
  context.add(unload, [options, unload, &context] {
    return runUnload(options->node, options->placement, options->force,
                     unload->count("--netns") > 0, context.format);
  });
}

} // namespace polc::cli
