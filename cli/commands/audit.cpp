// polc audit on|off: put endpoints in audit mode or take them out. In audit,
// what policy would deny passes and is reported and counted with verdict
// audit; a map write, no reload.
#include "commands.h"

#include <iostream>
#include <memory>

namespace polc::cli {
namespace {

namespace maps = polc::maps;

struct AuditOptions {
  std::string mode; // on, off
  std::string node;
  std::vector<std::string> endpoints;
  bool all = false;
  PlacementOptions placement;
};

int runAudit(const AuditOptions& options, Format format) {
  if (options.endpoints.empty() != options.all)
    return failUsage("audit", "say which endpoints: --endpoint E (repeatable) or --all", format);
  auto loader = polc::loader::makeKernelLoader();
  auto nodes = loadedNodes(*loader, options.placement, options.node);
  if (!nodes) return failSystem("audit", nodes.failure(), format);
  if (auto known = checkEndpointsLoaded(*nodes, options.endpoints); !known)
    return failUsage("audit", known.error(), format);
  const bool on = options.mode == "on";
  auto summary = nlohmann::json::array();
  for (const auto& node : *nodes) {
    std::vector<std::string> names;
    for (const auto& e : node.endpoints)
      if (options.all || std::find(options.endpoints.begin(), options.endpoints.end(),
                                   e.endpoint) != options.endpoints.end())
        names.push_back(e.endpoint);
    if (names.empty()) continue;
    auto opened = openMonitorMaps(node);
    if (!opened) return failSystem("audit", opened.failure(), format);
    auto indexes = endpointIndexes(node, names);
    if (!indexes) return failSystem("audit", indexes.failure(), format);
    for (auto ifindex : *indexes)
      if (auto set = maps::setAudit(maps::kernelMaps(), opened->handles(), ifindex, on); !set)
        return failSystem("audit", set.failure(), format);
    auto settings = maps::readMonitorSettings(maps::kernelMaps(), opened->handles());
    if (!settings) return failSystem("audit", settings.failure(), format);
    auto inAudit = nlohmann::json::array();
    for (const auto& e : node.endpoints)
      if (settings->audit.contains(uint32_t(e.ifindex))) inAudit.push_back(e.endpoint);
    summary.push_back({{"node", node.node}, {"changed", names}, {"audit", inAudit}});
    if (format == Format::Text) {
      std::cout << "node " << node.node << ": audit " << options.mode << " for";
      for (const auto& name : names) std::cout << " " << name;
      std::cout << "; in audit now: " << (inAudit.empty() ? "none" : "");
      for (size_t i = 0; i < inAudit.size(); ++i)
        std::cout << (i ? ", " : "") << inAudit[i].get<std::string>();
      std::cout << "\n";
    }
  }
  if (format == Format::Json) printJson({{"ok", true}, {"nodes", summary}});
  return kExitOk;
}

} // namespace

void registerAudit(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<AuditOptions>();
  auto* audit = app.add_subcommand(
      "audit", "Put endpoints in audit mode (denied packets pass, reported) or take them out");
  audit->footer(
      "In audit, a packet that policy denies (a deny rule, the default deny of an isolated\n"
      "direction) passes, and is reported (polc monitor, verdict audit) and counted (polc\n"
      "stats) with the rule that would have denied it; allowed packets are unchanged.\n"
      "Audited packets open no conntrack entry, so `off` enforces at once for new packets.\n"
      "A map write: no reload, no connection touched. polc status shows who is in audit.");
  oneOf(audit->add_option("mode", options->mode, "on or off")->required(), {"on", "off"});
  audit->add_option("--endpoint", options->endpoints, "This endpoint (repeatable)");
  audit->add_flag("--all", options->all, "Every endpoint of the nodes selected");
  audit->add_option("--node", options->node, "Only this node (default: every node loaded)");
  addPlacementOptions(audit, options->placement);
  addFormatOption(audit, context.format, FormatFlag::DeprecatedOutput);
  context.add(audit, [options, &context] { return runAudit(*options, context.format); });
}

} // namespace polc::cli
