// polc lab up|down: a topology built out of network namespaces.
#include "commands.h"

#include "polc/lab/lab.h"
#include "polc/topology/loader.h"

#include <iostream>
#include <memory>

namespace polc::cli {
namespace {

struct LabOptions {
  std::string topology;
  // Its labPrefix is the lab's prefix; down also takes the state dir of the
  // lab's loads.
  PlacementOptions placement;
};

int runLabUp(const std::string& topologyFile, const std::string& prefix) {
  polc::Diagnostics diagnostics;
  auto topology = polc::topology::loadFile(topologyFile, diagnostics);
  printDiagnostics(diagnostics, Format::Text);
  if (!topology) return kExitInputError;
  auto report = polc::lab::up(*topology, {prefix});
  if (!report) return failSystem("lab up", report.failure(), Format::Text);
  std::cout << "polc: lab up: " << report->namespaces.size() << " network namespace(s)\n";
  for (const auto& node : topology->nodes) {
    std::cout << "  node " << node.name << ": ip netns exec "
              << polc::lab::nodeNamespace(prefix, node.name) << " ...\n";
    for (const auto& endpoint : node.endpoints)
      std::cout << "    " << endpoint.name << ": ip netns exec "
                << polc::lab::endpointNamespace(prefix, endpoint.name) << " ...  ("
                << endpoint.addresses[0].addressText() << ", host side "
                << endpoint.interface << ")\n";
  }
  std::cout << "load a build into it with: polc load OUT --lab " << prefix << "\n";
  return kExitOk;
}

// The filters of a load go with the namespaces, its pins and state would
// not: a load recorded in --state-dir into one of the lab's node namespaces
// is unloaded first (from what its state records), and if that fails the
// lab stays up and the error says what to run.
int runLabDown(const LabOptions& options) {
  const auto& prefix = options.placement.labPrefix;
  const auto& stateDir = options.placement.placement.stateDir;
  auto loader = polc::loader::makeKernelLoader();
  auto found = loader->status(labStatusRequest(options.placement, ""));
  if (!found) return failSystem("lab down", found.failure(), Format::Text);
  for (const auto& n : found->nodes) {
    if (!n.stateError.empty() || !inLab(n, prefix)) continue; // an unreadable one: where is unknown
    auto unloaded =
        loader->unload({n.node, options.placement.placement, options.placement.lockTimeout()});
    if (!unloaded)
      return failSystem("lab down",
                        "node " + n.node + " is still loaded into " + n.netns + ": " +
                            unloaded.error() + "\nthe lab stays up; run `polc unload --node " +
                            n.node + " --state-dir " + stateDir.string() +
                            "`, then `polc lab down --prefix " + prefix + "`",
                        Format::Text);
    std::cout << "polc: lab down: unloaded node " << n.node << ": " << unloaded->detached.size()
              << " program(s) detached, " << unloaded->pinsRemoved << " pin(s) removed\n";
  }
  auto report = polc::lab::down({prefix});
  if (!report) return failSystem("lab down", report.failure(), Format::Text);
  std::cout << "polc: lab down: removed " << report->namespaces.size() << " network namespace(s)\n";
  return kExitOk;
}

} // namespace

void registerLab(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<LabOptions>();
  options->placement.labPrefix = "polc";
  auto* lab = app.add_subcommand(
      "lab", "Build a topology out of network namespaces to try policies with traffic");
  lab->require_subcommand(1);
  auto* up =
      lab->add_subcommand("up", "Create a namespace per node and per endpoint, joined by veths");
  existingFile(up->add_option("topology", options->topology, "Topology file (YAML)")->required());
  up->add_option("--prefix", options->placement.labPrefix,
                 "Name prefix of everything the lab creates")
      ->capture_default_str();
  context.add(up, [options] { return runLabUp(options->topology, options->placement.labPrefix); });
  auto* down = lab->add_subcommand("down", "Remove every namespace of the lab with this prefix");
  down->add_option("--prefix", options->placement.labPrefix, "Name prefix used by `lab up`")
      ->capture_default_str();
  addStateDirOption(down, options->placement);
  addLockTimeoutOption(down, options->placement);
  context.add(down, [options] { return runLabDown(*options); });
}

} // namespace polc::cli
