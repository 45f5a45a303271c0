// polc stats: packets and bytes per rule, and per endpoint and direction
// what no rule decided, from the datapath's counters; --unused lists the
// rules that matched nothing since they were loaded.
#include "commands.h"

#include "polc/loader/rule_stats.h"
#include "polc/maps/counter_maps.h"
#include "polc/maps/monitor_maps.h"

#include <algorithm>
#include <iostream>
#include <memory>

namespace polc::cli {
namespace {

namespace maps = polc::maps;
using polc::loader::RuleStatsLine;

struct StatsOptions {
  std::string node;
  std::vector<std::string> endpoints;
  bool unused = false;
  std::string sort;
  std::string setCounting; // on, off
  PlacementOptions placement;
};

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names) text += (text.empty() ? "" : ",") + name;
  return text;
}

nlohmann::json lineJson(const RuleStatsLine& line) {
  nlohmann::json j{{"direction", line.direction},
                   {"verdict", line.verdict},
                   {"packets", line.packets},
                   {"bytes", line.bytes},
                   {"endpoints", line.endpoints}};
  if (line.rule) {
    j["id"] = line.rule->id;
    j["policy"] = line.rule->policy;
    j["location"] = line.rule->location;
    j["text"] = line.rule->text;
    j["action"] = line.rule->action;
    j["audit"] = line.rule->audit;
  } else {
    j["reason"] = line.reason;
    j["endpoint"] = line.endpoints.empty() ? "" : line.endpoints.front();
  }
  return j;
}

// A table with one row per line, columns as wide as their widest cell.
void printTable(const std::vector<RuleStatsLine>& lines) {
  std::vector<std::vector<std::string>> rows{
      {"POLICY", "RULE", "DIRECTION", "VERDICT", "PACKETS", "BYTES", "ENDPOINTS"}};
  for (const auto& line : lines) {
    if (line.rule)
      rows.push_back({line.rule->policy, line.rule->location,
                      line.direction.empty() ? "-" : line.direction,
                      line.direction.empty() ? "-" : line.verdict, std::to_string(line.packets),
                      std::to_string(line.bytes),
                      line.endpoints.empty() ? "(in no table loaded)" : joined(line.endpoints)});
    else
      rows.push_back({"-", "(" + line.reason + ")", line.direction, line.verdict,
                      std::to_string(line.packets), std::to_string(line.bytes),
                      joined(line.endpoints)});
  }
  std::vector<size_t> widths(rows.front().size(), 0);
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  for (const auto& row : rows) {
    std::string text;
    for (size_t i = 0; i < row.size(); ++i) {
      const bool number = i == 4 || i == 5;
      std::string cell = row[i];
      const std::string fill(widths[i] - cell.size(), ' ');
      text += number ? fill + cell : cell + (i + 1 < row.size() ? fill : "");
      if (i + 1 < row.size()) text += "  ";
    }
    std::cout << text << "\n";
  }
}

int runSetCounting(const std::vector<polc::loader::NodeStatus>& nodes, bool on, Format format) {
  auto summary = nlohmann::json::array();
  for (const auto& node : nodes) {
    auto opened = openMonitorMaps(node);
    if (!opened) return failSystem("stats", opened.failure(), format);
    if (auto set = maps::setCounting(maps::kernelMaps(), opened->handles(), on); !set)
      return failSystem("stats", set.failure(), format);
    summary.push_back({{"node", node.node}, {"counting", on}});
    if (format == Format::Text)
      std::cout << "node " << node.node << ": counters " << (on ? "on" : "off") << "\n";
  }
  if (format == Format::Json) printJson({{"ok", true}, {"nodes", summary}});
  return kExitOk;
}

int runStats(const StatsOptions& options, Format format) {
  auto loader = polc::loader::makeKernelLoader();
  auto nodes = loadedNodes(*loader, options.placement, options.node);
  if (!nodes) return failSystem("stats", nodes.failure(), format);
  if (!options.setCounting.empty())
    return runSetCounting(*nodes, options.setCounting == "on", format);
  if (auto known = checkEndpointsLoaded(*nodes, options.endpoints); !known)
    return failUsage("stats", known.error(), format);
  polc::loader::RuleStats stats(options.endpoints);
  std::vector<std::string> warnings;
  for (const auto& node : *nodes) {
    auto counters = readNodeCounters(node);
    if (!counters) return failSystem("stats", counters.failure(), format);
    if (auto added = stats.add(node, *counters); !added)
      return failSystem("stats", added.failure(), format);
    auto opened = openMonitorMaps(node);
    if (!opened) return failSystem("stats", opened.failure(), format);
    auto settings = maps::readMonitorSettings(maps::kernelMaps(), opened->handles());
    if (!settings) return failSystem("stats", settings.failure(), format);
    if (!settings->counting)
      warnings.push_back("node " + node.node +
                         ": counting is off (polc stats --set-counting on): its counts stopped "
                         "when it was switched off");
  }
  for (const auto& warning : stats.warnings()) warnings.push_back(warning);
  auto lines = stats.lines();
  if (options.unused)
    std::erase_if(lines, [](const RuleStatsLine& line) { return !line.rule || line.packets; });
  if (!options.sort.empty())
    std::stable_sort(lines.begin(), lines.end(), [&](const auto& a, const auto& b) {
      return options.sort == "bytes" ? a.bytes > b.bytes : a.packets > b.packets;
    });
  for (const auto& warning : warnings) std::cerr << "polc stats: warning: " << warning << "\n";
  if (format == Format::Json) {
    auto rules = nlohmann::json::array(), other = nlohmann::json::array();
    for (const auto& line : lines) (line.rule ? rules : other).push_back(lineJson(line));
    printJson({{"ok", true}, {"rules", rules}, {"other", other}, {"warnings", warnings}});
    return kExitOk;
  }
  if (lines.empty()) {
    std::cout << (options.unused ? "every rule has matched packets\n" : "nothing counted yet\n");
    return kExitOk;
  }
  printTable(lines);
  return kExitOk;
}

} // namespace

void registerStats(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<StatsOptions>();
  auto* stats = app.add_subcommand(
      "stats", "Packets and bytes per rule, and what no rule decided, since the node was loaded");
  stats->footer(
      "Every packet an endpoint's programs judge is counted once: by the rule that decided it\n"
      "(the first packet of a flow and the rest of it), or by why no rule did (default-deny,\n"
      "no-rule, reply, related, established, malformed, no-ipv6), per endpoint and direction.\n"
      "Counters survive reloads (a rule keeps its id while it is unchanged) and restart when\n"
      "the node is unloaded. A rule \"in no table loaded\" can never match on this host.\n"
      "Counting is on unless switched off (--set-counting off: a map write, no reload; the\n"
      "counts stay). It costs a hash lookup per packet (docs/benchmarks.md).\n"
      "--format json: {\"rules\": [...], \"other\": [...]} (docs/cli.md).");
  stats->add_option("--node", options->node, "Only this node (default: every node loaded)");
  stats->add_option("--endpoint", options->endpoints,
                    "Only this endpoint's counters and rules (repeatable)");
  stats->add_flag("--unused", options->unused,
                  "Only the rules that matched nothing since they were loaded");
  oneOf(stats->add_option("--sort", options->sort, "Sort by packets or bytes, most first"),
        {"packets", "bytes"});
  oneOf(stats->add_option("--set-counting", options->setCounting,
                          "Switch the nodes' counters on or off and exit"),
        {"on", "off"});
  addPlacementOptions(stats, options->placement);
  addFormatOption(stats, context.format, FormatFlag::DeprecatedOutput);
  context.add(stats, [options, &context] { return runStats(*options, context.format); });
}

} // namespace polc::cli
