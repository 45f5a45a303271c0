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

int runUnload(const std::string& node, const PlacementOptions& options, bool force, bool netnsGiven,
              Format format) {
  auto loader = polc::loader::makeKernelLoader();
  polc::loader::UnloadRequest request{node, options.placement, options.lockTimeout()};
  request.force = force;
  request.netnsGiven = netnsGiven;
  request.labPrefix = options.labPrefix;
  auto report = loader->unload(request);
  if (!report) return failSystem("unload", report.error(), format);
  if (format == Format::Json) {
    printJson(nlohmann::json{{"ok", true},
                             {"detached", report->detached.size()},
                             {"pins_removed", report->pinsRemoved}});
  } else {
    std::cout << "polc: unloaded: " << report->detached.size() << " program(s) detached, "
              << report->pinsRemoved << " pin(s) removed\n";
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
  addPlacementOptions(unload, options->placement, Namespace::NetnsOrLab);
  addLockTimeoutOption(unload, options->placement);
  addFormatOption(unload, context.format);
  context.add(unload, [options, unload, &context] {
    return runUnload(options->node, options->placement, options->force,
                     unload->count("--netns") > 0, context.format);
  });
}

} // namespace polc::cli
