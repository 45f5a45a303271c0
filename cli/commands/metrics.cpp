// polc metrics: the datapath's counters and the monitor's event counts in
// the Prometheus text format, printed once or served at /metrics
// (--listen) for a scrape.
#include "commands.h"

#include "polc/loader/metrics.h"
#include "polc/loader/rule_stats.h"
#include "polc/support/http_server.h"

#include <iostream>
#include <map>
#include <memory>

namespace polc::cli {
namespace {

struct MetricsOptions {
  std::string node;
  bool rules = false;
  std::string listen;
  PlacementOptions placement;
};

// What each node's build says about its rules, by node: read again only
// when the node runs another revision, not at every scrape.
using RulesByNode = std::map<std::string, polc::loader::NodeRules>;

// The exposition of every node loaded, read now.
polc::Expected<std::string> gather(polc::loader::Loader& loader, const MetricsOptions& options,
                                   RulesByNode& rulesByNode) {
  auto nodes = loadedNodes(loader, options.placement, options.node);
  if (!nodes) return polc::Error{nodes.error()};
  std::vector<polc::loader::NodeMetrics> metrics;
  polc::loader::RuleStats stats;
  for (const auto& node : *nodes) {
    auto counters = readNodeCounters(node);
    if (!counters) return polc::Error{counters.error()};
    if (options.rules) {
      auto known = rulesByNode.find(node.node);
      if (known == rulesByNode.end() || known->second.revision != node.revision) {
        auto rules = polc::loader::readNodeRules(node);
        if (!rules) return polc::Error{rules.error()};
        known = rulesByNode.insert_or_assign(node.node, std::move(*rules)).first;
      }
      stats.add(node, *counters, known->second);
    }
    auto agent = polc::loader::readAgentRecord(options.placement.placement.stateDir, node.node);
    if (!agent) return polc::Error{agent.error()};
    metrics.push_back({&node, std::move(*counters), std::move(*agent)});
  }
  const auto lines = options.rules ? stats.lines() : std::vector<polc::loader::RuleStatsLine>{};
  return polc::loader::prometheusText(metrics, options.rules ? &lines : nullptr);
}

int serve(polc::loader::Loader& loader, const MetricsOptions& options, Format format) {
  auto where = polc::parseListenAddress(options.listen);
  if (!where) return failUsage("metrics", "--listen " + where.error(), format);
  auto server = polc::HttpServer::listen(*where);
  if (!server) return failSystem("metrics", server.failure(), format);
  const auto& interrupted = catchInterrupts();
  const std::string host =
      where->address.find(':') == std::string::npos ? where->address : "[" + where->address + "]";
  // On stderr: a script waits for it before scraping.
  std::cerr << "polc metrics: serving http://" << host << ":" << server->port()
            << "/metrics; Ctrl-C to stop" << std::endl;
  RulesByNode rulesByNode;
  auto served = server->serve(
      [&](const std::string& path) -> polc::HttpResponse {
        if (path != "/metrics")
          return {404, "text/plain; charset=utf-8", "polc metrics: the metrics are at /metrics\n"};
        auto text = gather(loader, options, rulesByNode);
        if (!text)
          return {500, "text/plain; charset=utf-8", "polc metrics: " + text.error() + "\n"};
        return {200, "text/plain; version=0.0.4; charset=utf-8", std::move(*text)};
      },
      interrupted);
  if (!served) return failSystem("metrics", served.failure(), format);
  return kExitOk;
}

int runMetrics(const MetricsOptions& options, Format format) {
  auto loader = polc::loader::makeKernelLoader();
  if (!options.listen.empty()) return serve(*loader, options, format);
  RulesByNode rulesByNode;
  auto text = gather(*loader, options, rulesByNode);
  if (!text) return failSystem("metrics", text.failure(), format);
  std::cout << *text;
  return kExitOk;
}

} // namespace

void registerMetrics(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<MetricsOptions>();
  auto* metrics = app.add_subcommand(
      "metrics", "Print the datapath's counters in the Prometheus text format, or serve them");
  metrics->footer(
      "Metrics: polc_packets_total and polc_bytes_total by node, endpoint, direction, verdict\n"
      "and reason; polc_events_sent_total, _lost_total, _rate_limited_total; polc_counting;\n"
      "polc_counter_keys and _capacity; with --rules, polc_rule_packets_total and\n"
      "polc_rule_bytes_total per rule; where polc agent runs, polc_agent_loads_total,\n"
      "_last_attempt_timestamp_seconds, _last_attempt_failed, _last_success_timestamp_seconds\n"
      "and _applied_revision_info (docs/cli.md). --listen serves them at /metrics until\n"
      "Ctrl-C, each scrape read anew; it binds 127.0.0.1 unless given an address.");
  metrics->add_option("--node", options->node, "Only this node (default: every node loaded)");
  metrics->add_flag("--rules", options->rules, "Add a counter per rule (one series per rule)");
  metrics->add_option("--listen", options->listen,
                      "Serve at http://ADDR:PORT/metrics: PORT (127.0.0.1), ADDR:PORT, "
                      "[IPV6]:PORT; port 0 takes a free one (printed)");
  addPlacementOptions(metrics, options->placement);
  context.add(metrics, [options, &context] { return runMetrics(*options, context.format); });
}

} // namespace polc::cli
