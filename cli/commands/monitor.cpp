// polc monitor: stream the datapath's verdict events, decoded with the
// build the node runs; or set what the datapath reports (--set-level).
#include "commands.h"

#include "polc/loader/event_decoder.h"
#include "polc/maps/event_ring.h"
#include "polc/maps/monitor_maps.h"
#include "polc/maps/pin_layout.h"

#include <bpf/libbpf.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <set>
#include <tuple>

namespace polc::cli {
namespace {

namespace maps = polc::maps;
using polc::loader::DecodedEvent;

struct MonitorOptions {
  std::string node;
  std::vector<std::string> endpoints;
  std::string verdict;
  std::string from, to; // PartySelector texts
  std::optional<uint16_t> port;
  uint64_t count = 0; // 0: until interrupted
  bool sinceLoad = false;
  std::string setLevel;
  std::optional<uint32_t> rate, burst;
  PlacementOptions placement;
};

std::string clockText(uint64_t unixNanoseconds) {
  const time_t seconds = time_t(unixNanoseconds / 1'000'000'000);
  tm local{};
  localtime_r(&seconds, &local);
  char text[32];
  std::strftime(text, sizeof text, "%H:%M:%S", &local);
  char millis[8];
  std::snprintf(millis, sizeof millis, ".%03u", unsigned(unixNanoseconds / 1'000'000 % 1000));
  return std::string(text) + millis;
}

std::string endpointText(const std::string& address, uint16_t port, const DecodedEvent& event) {
  if (event.icmpType) return address;
  return event.family == "ipv6" ? "[" + address + "]:" + std::to_string(port)
                                : address + ":" + std::to_string(port);
}

std::string pad(std::string text, size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

std::string eventText(const DecodedEvent& e) {
  std::string verdict = e.verdict == "allowed" ? "ALLOW" : e.verdict == "denied" ? "DENY" : "AUDIT";
  std::string flow = e.protocol + " " + endpointText(e.source, e.sourcePort, e) + " -> " +
                     endpointText(e.destination, e.destinationPort, e);
  if (e.icmpType)
    flow += " type " + std::to_string(*e.icmpType) + " code " + std::to_string(*e.icmpCode);
  if (e.service)
    flow += " via service " + e.service->name + " (" +
            endpointText(e.service->vip, e.service->port, e) + ")";
  std::string why = e.reason;
  if (e.rule)
    why = std::string(e.rule->audit ? "audit " : "") + "policy \"" + e.rule->policy + "\" " +
          e.rule->location + " " + e.rule->action;
  std::string endpoint = e.endpoint.empty() ? "ifindex " + std::to_string(e.ifindex) : e.endpoint;
  return clockText(e.unixNanoseconds) + "  " + pad(endpoint, 12) + " " +
         pad(e.direction == "ingress" ? "in" : "out", 3) + " " + pad(verdict, 5) + " " +
         pad(e.newFlow ? "new" : "", 3) + " " + pad(flow, 46) + " peer " + pad(e.peer.name, 20) +
         "  " + why;
}

nlohmann::json eventJson(const DecodedEvent& e) {
  nlohmann::json peer{{"identity", e.peer.identity}, {"kind", e.peer.kind}, {"name", e.peer.name}};
  if (!e.peer.labels.empty()) peer["labels"] = e.peer.labels;
  nlohmann::json j{{"type", "verdict"},
                   {"time_unix_ns", e.unixNanoseconds},
                   {"node", e.node},
                   {"endpoint", e.endpoint},
                   {"interface", e.interface},
                   {"ifindex", e.ifindex},
                   {"direction", e.direction},
                   {"verdict", e.verdict},
                   {"reason", e.reason},
                   {"family", e.family},
                   {"protocol", e.protocol},
                   {"source", e.source},
                   {"destination", e.destination},
                   {"peer", peer},
                   {"length", e.length},
                   {"new_flow", e.newFlow}};
  if (e.icmpType) {
    j["icmp_type"] = *e.icmpType;
    j["icmp_code"] = *e.icmpCode;
  } else {
    j["source_port"] = e.sourcePort;
    j["destination_port"] = e.destinationPort;
  }
  if (e.service)
    j["service"] = {{"name", e.service->name},
                    {"vip", e.service->vip},
                    {"protocol", e.service->protocol},
                    {"port", e.service->port}};
  if (e.rule)
    j["rule"] = {
        {"id", e.rule->id},         {"policy", e.rule->policy}, {"location", e.rule->location},
        {"action", e.rule->action}, {"audit", e.rule->audit},   {"text", e.rule->text}};
  return j;
}

// A node being watched: its decoder, ring and counters.
struct WatchedNode {
  std::string name;
  std::string revision; // the newest the decoder knows
  polc::loader::EventDecoder decoder;
  maps::OpenMap stats;
  maps::EventCounts reported; // lost and limited already told
  std::optional<maps::EventRing> ring;
  maps::OpenMap epoch{}; // bumped by every load: when to look for a new revision
  uint32_t epochSeen = 0;
  int revisionChecksLeft = 0; // the state is committed just after the bump
};

int runSetLevel(const std::vector<polc::loader::NodeStatus>& nodes, const MonitorOptions& options,
                Format format) {
  std::optional<maps::MonitorLevel> level;
  if (!options.setLevel.empty()) {
    level = maps::parseMonitorLevel(options.setLevel);
    if (!level || (*level == maps::MonitorLevel::Default && options.endpoints.empty()))
      return failUsage(
          "monitor",
          "--set-level takes off, drops, flows or all" +
              std::string(options.endpoints.empty() ? "" : " (or default: the node's level)"),
          format);
  }
  auto summary = nlohmann::json::array();
  for (const auto& node : nodes) {
    auto opened = openMonitorMaps(node);
    if (!opened) return failSystem("monitor", opened.failure(), format);
    const auto handles = opened->handles();
    if (options.rate || options.burst) {
      auto current = maps::readMonitorSettings(maps::kernelMaps(), handles);
      if (!current) return failSystem("monitor", current.failure(), format);
      if (auto set =
              maps::setEventRate(maps::kernelMaps(), handles, options.rate.value_or(current->rate),
                                 options.burst.value_or(current->burst));
          !set)
        return failSystem("monitor", set.failure(), format);
    }
    if (level) {
      auto indexes = endpointIndexes(node, options.endpoints);
      if (!indexes) return failUsage("monitor", indexes.error(), format);
      std::vector<std::optional<uint32_t>> targets(indexes->begin(), indexes->end());
      if (targets.empty()) targets.push_back(std::nullopt);
      for (auto target : targets)
        if (auto set = maps::setMonitorLevel(maps::kernelMaps(), handles, *level, target); !set)
          return failSystem("monitor", set.failure(), format);
    }
    auto settings = maps::readMonitorSettings(maps::kernelMaps(), handles);
    if (!settings) return failSystem("monitor", settings.failure(), format);
    nlohmann::json endpoints = nlohmann::json::object();
    for (const auto& e : node.endpoints) {
      auto it = settings->endpoints.find(uint32_t(e.ifindex));
      endpoints[e.endpoint] = std::string(
          maps::toString(it == settings->endpoints.end() ? settings->node : it->second));
    }
    summary.push_back({{"node", node.node},
                       {"level", std::string(maps::toString(settings->node))},
                       {"rate", settings->rate},
                       {"burst", settings->burst},
                       {"endpoints", endpoints}});
    if (format == Format::Text) {
      std::cout << "node " << node.node << ": reports " << maps::toString(settings->node)
                << " (rate " << settings->rate << "/s, burst " << settings->burst
                << " per endpoint)\n";
      for (const auto& [ifindex, own] : settings->endpoints)
        for (const auto& e : node.endpoints)
          if (uint32_t(e.ifindex) == ifindex)
            std::cout << "  " << e.endpoint << ": " << maps::toString(own) << "\n";
    }
  }
  if (format == Format::Json) printJson({{"ok", true}, {"nodes", summary}});
  return kExitOk;
}

struct EventFilter {
  std::optional<polc::loader::PartySelector> from, to;
};

bool wanted(const DecodedEvent& event, const MonitorOptions& options, const EventFilter& filter) {
  if (filter.from && !filter.from->matches(event.sourceParty())) return false;
  if (filter.to && !filter.to->matches(event.destinationParty())) return false;
  if (!options.endpoints.empty() && std::find(options.endpoints.begin(), options.endpoints.end(),
                                              event.endpoint) == options.endpoints.end())
    return false;
  if (!options.verdict.empty() && event.verdict != options.verdict) return false;
  if (options.port && event.destinationPort != *options.port && event.sourcePort != *options.port)
    return false;
  return true;
}

// Tells what the node's monitor missed since the last report, once a second.
void reportMissed(WatchedNode& node, Format format) {
  auto counts = maps::readEventCounts(maps::kernelMaps(), node.stats.handle(),
                                      unsigned(libbpf_num_possible_cpus()));
  if (!counts) return;
  const uint64_t lost = counts->lost - node.reported.lost;
  const uint64_t limited = counts->limited - node.reported.limited;
  if (lost == 0 && limited == 0) return;
  node.reported = *counts;
  if (format == Format::Json)
    std::cout << nlohmann::json{{"type", "missed"},
                                {"node", node.name},
                                {"lost", lost},
                                {"rate_limited", limited}}
                     .dump()
              << std::endl;
  else
    std::cout << "# node " << node.name << ": " << lost << " event(s) lost (ring buffer full), "
              << limited << " suppressed by the per-endpoint rate limit" << std::endl;
}

// A node loaded with another revision since the monitor started: its
// decoder learns the new build's names and keeps the old ones (rule and
// identity ids are stable across builds, so the events of both revisions,
// which a reload mixes for a moment, decode alike). Said in the stream.
// The epoch, one map read, says when to look (status reads every map and
// filter of the node: too much for every second).
void followReloads(polc::loader::Loader& loader, const MonitorOptions& options,
                   std::vector<std::unique_ptr<WatchedNode>>& watched, Format format) {
  bool look = false;
  for (auto& node : watched) {
    if (!node->epoch.valid()) continue;
    auto epoch =
        maps::readPolicyEpoch(maps::kernelMaps(), node->epoch.handle(), artifacts::kMapPolicyEpoch);
    if (epoch && *epoch != node->epochSeen) {
      node->epochSeen = *epoch;
      node->revisionChecksLeft = 5;
    }
    if (node->revisionChecksLeft > 0) {
      --node->revisionChecksLeft;
      look = true;
    }
  }
  if (!look) return;
  auto report = loader.status(labStatusRequest(options.placement, options.node));
  if (!report) return; // unreadable now: the next second looks again
  for (const auto& current : report->nodes)
    for (auto& node : watched) {
      if (current.node != node->name || !current.stateError.empty() ||
          current.revision == node->revision)
        continue;
      node->revisionChecksLeft = 0;
      auto newer = polc::loader::EventDecoder::forNode(current);
      const std::string previous = node->revision;
      node->revision = current.revision;
      if (newer) node->decoder.learn(std::move(*newer));
      if (format == Format::Json) {
        nlohmann::json line{{"type", "revision"},
                            {"node", node->name},
                            {"revision", current.revision},
                            {"previous_revision", previous}};
        if (!newer) line["error"] = newer.error();
        std::cout << line.dump() << std::endl;
      } else if (newer) {
        std::cout << "# node " << node->name << ": revision " << current.revision.substr(0, 12)
                  << " loaded (was " << previous.substr(0, 12)
                  << "); events are decoded with the names of both" << std::endl;
      } else {
        std::cout << "# node " << node->name << ": revision " << current.revision.substr(0, 12)
                  << " loaded, but its names cannot be read (" << newer.error()
                  << "); events are decoded with those of " << previous.substr(0, 12) << std::endl;
      }
    }
}

int runMonitor(const MonitorOptions& options, Format format) {
  // Flags first: a bad one is a usage error whatever is loaded (--verdict
  // and --set-level are checked by the parser).
  EventFilter filter;
  for (auto [text, selector, flag] : {std::tuple{&options.from, &filter.from, "--from"},
                                      std::tuple{&options.to, &filter.to, "--to"}}) {
    if (text->empty()) continue;
    auto parsed = polc::loader::PartySelector::parse(*text);
    if (!parsed) return failUsage("monitor", std::string(flag) + " " + parsed.error(), format);
    selector->emplace(std::move(*parsed));
  }

  auto loader = polc::loader::makeKernelLoader();
  auto loaded = loadedNodes(*loader, options.placement, options.node);
  if (!loaded) return failSystem("monitor", loaded.failure(), format);
  auto& nodes = *loaded;
  if (!options.setLevel.empty() || options.rate || options.burst)
    return runSetLevel(nodes, options, format);
  for (const auto& node : nodes)
    if (auto indexes = endpointIndexes(node, options.endpoints); !indexes && nodes.size() == 1)
      return failUsage("monitor", indexes.error(), format);
  uint64_t shown = 0;
  bool started = false; // the backlog is drained
  std::vector<std::unique_ptr<WatchedNode>> watched;
  for (const auto& node : nodes) {
    auto decoder = polc::loader::EventDecoder::forNode(node);
    if (!decoder) return failSystem("monitor", decoder.failure(), format);
    auto entry = std::make_unique<WatchedNode>(WatchedNode{
        node.node, node.revision, std::move(*decoder), maps::OpenMap(), {}, std::nullopt});
    const std::filesystem::path pinRoot = node.pinRoot;
    auto stats = maps::kernelMaps().openPinned(
        pinRoot / maps::relativePin(node.node, "", artifacts::kMapEventStats));
    if (!stats) return failSystem("monitor", stats.failure(), format);
    entry->stats = std::move(*stats);
    auto epoch = maps::kernelMaps().openPinned(
        pinRoot / maps::relativePin(node.node, "", artifacts::kMapPolicyEpoch));
    if (!epoch) return failSystem("monitor", epoch.failure(), format);
    entry->epoch = std::move(*epoch);
    if (entry->epoch.valid())
      if (auto seen = maps::readPolicyEpoch(maps::kernelMaps(), entry->epoch.handle(),
                                            artifacts::kMapPolicyEpoch))
        entry->epochSeen = *seen;
    if (entry->stats.valid())
      if (auto counts = maps::readEventCounts(maps::kernelMaps(), entry->stats.handle(),
                                              unsigned(libbpf_num_possible_cpus())))
        entry->reported = *counts;
    auto* self = entry.get();
    auto ring = maps::EventRing::openPinned(
        pinRoot / maps::relativePin(node.node, "", artifacts::kMapEvents),
        [self, &options, &filter, &shown, &started, format,
         loadedUnixNs = node.loadedUnixNs](const polc_event& raw) {
          if (options.count && shown >= options.count) return;
          auto event = self->decoder.decode(raw);
          // The backlog: sent while nobody read, shown only with --since-load
          // and only from the load on.
          if (!started && !(options.sinceLoad && event.unixNanoseconds >= loadedUnixNs)) return;
          if (!wanted(event, options, filter)) return;
          ++shown;
          if (format == Format::Json)
            std::cout << eventJson(event).dump() << "\n";
          else
            std::cout << eventText(event) << "\n";
        });
    if (!ring) return failSystem("monitor", ring.failure(), format);
    entry->ring.emplace(std::move(*ring));
    // What the ring holds was sent before the monitor started (while
    // nobody read it): old news, possibly of another revision; with
    // --since-load, what of it came after the node's load.
    if (auto backlog = entry->ring->drain(); !backlog)
      return failSystem("monitor", backlog.failure(), format);
    watched.push_back(std::move(entry));
  }
  started = true;
  const auto& interrupted = catchInterrupts();
  // On stderr in either format: a script waits for it before sending traffic.
  std::cerr << "polc monitor: watching " << watched.size() << " node(s); Ctrl-C to stop"
            << std::endl;
  auto lastCheck = std::chrono::steady_clock::now();
  while (!interrupted && !(options.count && shown >= options.count)) {
    const auto slice =
        std::chrono::milliseconds(std::max<int>(1, POLC_EVENTS_POLL_MS / int(watched.size())));
    for (auto& node : watched) {
      if (auto polled = node->ring->poll(slice); !polled)
        return failSystem("monitor", polled.failure(), format);
      std::cout.flush();
    }
    if (std::chrono::steady_clock::now() - lastCheck >= std::chrono::seconds(1)) {
      lastCheck = std::chrono::steady_clock::now();
      for (auto& node : watched)
        if (node->stats.valid()) reportMissed(*node, format);
      followReloads(*loader, options, watched, format);
    }
  }
  // What came since the last poll: the datapath does not wake the reader,
  // so the last slice's events are still in the ring.
  for (auto& node : watched)
    if (auto drained = node->ring->drain(); !drained)
      return failSystem("monitor", drained.failure(), format);
  for (auto& node : watched)
    if (node->stats.valid()) reportMissed(*node, format);
  std::cout.flush();
  return kExitOk;
}

} // namespace

void registerMonitor(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<MonitorOptions>();
  auto* monitor = app.add_subcommand(
      "monitor", "Stream the datapath's verdict events, or set what it reports (--set-level)");
  monitor->footer(
      "Levels: off, drops (every denied packet; the default), flows (drops and the first packet\n"
      "of every allowed flow), all (every packet). The level is node-wide, or per endpoint with\n"
      "--endpoint (default: back to the node's). Setting it writes a map: no reload.\n"
      "Events are rate-limited per endpoint; what is lost or suppressed is reported in the\n"
      "stream. --format json prints one JSON object per line (docs/cli.md).");
  monitor->add_option("--node", options->node, "Only this node (default: every node loaded)");
  monitor->add_option("--endpoint", options->endpoints,
                      "Only this endpoint's events (repeatable); with --set-level, its level");
  oneOf(monitor->add_option("--verdict", options->verdict, "Only events with this verdict"),
        {"allowed", "denied", "audit"});
  monitor->add_option("--from", options->from,
                      "Only packets from: an endpoint or service name, an address or CIDR, "
                      "world, host, remote-node, or labels k=v[,k=v]");
  monitor->add_option("--to", options->to, "Only packets to: as --from");
  inRange(monitor->add_option("--port", options->port,
                              "Only events with this source or destination port"),
          1, 65535);
  monitor->add_option("--count", options->count, "Stop after this many events");
  monitor->add_flag("--since-load", options->sinceLoad,
                    "First the events sent since the node's load that still wait in the ring "
                    "(else they are skipped)");
  oneOf(monitor->add_option("--set-level", options->setLevel, "Set what is reported and exit"),
        {"off", "drops", "flows", "all", "default"});
  inRange(monitor->add_option("--rate", options->rate,
                              "Set the events per second per endpoint and exit"),
          1u, 10'000'000u);
  inRange(monitor->add_option("--burst", options->burst,
                              "Set how many events an endpoint may send at once and exit"),
          1u, 10'000'000u);
  addPlacementOptions(monitor, options->placement);
  addFormatOption(monitor, context.format, FormatFlag::DeprecatedOutput);
  context.add(monitor, [options, &context] { return runMonitor(*options, context.format); });
}

} // namespace polc::cli
