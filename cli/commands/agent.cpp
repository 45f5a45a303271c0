// polc agent: watch a directory for new signed bundles of one node and load
// each one (polc/loader/agent.h does the watching and the deciding).
#include "commands.h"

#include "polc/lab/lab.h"
#include "polc/loader/agent.h"

#include <iostream>
#include <memory>

namespace polc::cli {
namespace {

struct AgentCommandOptions {
  std::string source;
  std::string node;
  std::string trust;
  double intervalSeconds = 30;
  PlacementOptions placement;
};

int runAgent(const AgentCommandOptions& options, Format format) {
  polc::loader::AgentOptions agent;
  agent.source = options.source;
  agent.node = options.node;
  agent.trust = options.trust;
  agent.placement = options.placement.placement;
  if (!options.placement.labPrefix.empty())
    agent.placement.netns = polc::lab::nodeNamespace(options.placement.labPrefix, options.node);
  agent.lockTimeout = options.placement.lockTimeout();
  agent.interval =
      std::chrono::milliseconds(static_cast<long long>(options.intervalSeconds * 1000));
  auto loader = polc::loader::makeKernelLoader();
  auto ran = polc::loader::runAgent(*loader, agent, std::cout, std::cerr);
  if (!ran) return failSystem("agent", ran.failure(), format);
  return kExitOk;
}

} // namespace

void registerAgent(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<AgentCommandOptions>();
  auto* agent = app.add_subcommand(
      "agent", "Watch a directory for new signed bundles of a node and load each one");
  agent->footer(
      "The bundle: SOURCE/<node>/ as `polc bundle -o SOURCE` writes it, else SOURCE itself\n"
      "when it is a build output with the node. Loaded when its bytes change (inotify, and a\n"
      "rescan every --interval); a bundle that fails is tried again only once it (or the\n"
      "trusted keys) change.\n"
      "Records what it did in <state-dir>/<node>.agent (polc status, polc metrics). SIGTERM or\n"
      "SIGINT: stops after a load in progress, exit 0, nothing unloaded (docs/cli.md).");
  existingDirectory(
      agent->add_option("--source", options->source, "Directory the bundles arrive in")
          ->required());
  agent->add_option("--node", options->node, "The node whose bundle to load")->required();
  existingPath(
      agent
          ->add_option("--trust", options->trust,
                       "Public key file, or a directory of them, that bundles must be signed by")
          ->required());
  positive(agent
               ->add_option("--interval", options->intervalSeconds,
                            "Seconds between looks at the bundle without a change seen")
               ->capture_default_str());
  addPlacementOptions(agent, options->placement);
  addLockTimeoutOption(agent, options->placement);
  context.add(agent, [options, &context] { return runAgent(*options, context.format); });
}

} // namespace polc::cli
