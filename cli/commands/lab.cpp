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
  std::string prefix = "polc";
};

int runLabUp(const std::string& topologyFile, const std::string& prefix) {
  polc::Diagnostics diagnostics;
  auto topology = polc::topology::loadFile(topologyFile, diagnostics);
  printDiagnostics(diagnostics, Format::Text);
  if (!topology) return kExitInputError;
  auto report = polc::lab::up(*topology, {prefix});
  if (!report) return failSystem("lab up", report.error(), Format::Text);
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

int runLabDown(const std::string& prefix) {
  auto report = polc::lab::down({prefix});
  if (!report) return failSystem("lab down", report.error(), Format::Text);
  std::cout << "polc: lab down: removed " << report->namespaces.size() << " network namespace(s)\n";
  return kExitOk;
}

} // namespace

void registerLab(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<LabOptions>();
  auto* lab = app.add_subcommand(
      "lab", "Build a topology out of network namespaces to try policies with traffic");
  lab->require_subcommand(1);
  auto* up =
      lab->add_subcommand("up", "Create a namespace per node and per endpoint, joined by veths");
  up->add_option("topology", options->topology, "Topology file (YAML)")
      ->required()
      ->check(CLI::ExistingFile);
  up->add_option("--prefix", options->prefix, "Name prefix of everything the lab creates")
      ->capture_default_str();
  context.add(up, [options] { return runLabUp(options->topology, options->prefix); });
  auto* down = lab->add_subcommand("down", "Remove every namespace of the lab with this prefix");
  down->add_option("--prefix", options->prefix, "Name prefix used by `lab up`")
      ->capture_default_str();
  context.add(down, [options] { return runLabDown(options->prefix); });
}

} // namespace polc::cli
