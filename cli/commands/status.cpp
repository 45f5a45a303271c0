// polc status: what polc attached, from which build, table fill, and drift.
#include "commands.h"

#include "polc/lab/lab.h"
#include "polc/loader/agent.h"

#include <algorithm>
#include <ctime>
#include <iostream>
#include <map>
#include <memory>

namespace polc::cli {
namespace {

struct StatusOptions {
  std::string node;
  PlacementOptions placement;
};

nlohmann::json mapFillJson(const polc::loader::MapFill& fill) {
  nlohmann::json j{{"map", fill.map},
                   {"pin", fill.pin},
                   {"pinned", fill.pinned},
                   {"entries", fill.entries},
                   {"capacity", fill.capacity}};
  if (fill.loadedEntries) j["loaded_entries"] = *fill.loadedEntries;
  return j;
}

std::string mapFillText(const polc::loader::MapFill& fill) {
  if (!fill.pinned) return fill.map + " (pin missing)";
  std::string text =
      fill.map + " " + std::to_string(fill.entries) + "/" + std::to_string(fill.capacity);
  if (fill.loadedEntries && *fill.loadedEntries != fill.entries)
    text += " (loaded " + std::to_string(*fill.loadedEntries) + ")";
  return text;
}

nlohmann::json foundFilterJson(const polc::loader::FoundFilter& filter) {
  return {{"interface", filter.interface},
          {"hook", filter.hook},
          {"program_id", filter.programId},
          {"program_name", filter.programName}};
}

// A CLOCK_REALTIME time in ns as 2026-12-06T23:59:01Z.
std::string utcText(uint64_t unixNs) {
  const time_t seconds = time_t(unixNs / 1'000'000'000);
  tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

// What `polc agent` recorded for the nodes status shows (only `node` when
// given), by node; one that cannot be read is an error in its place.
struct AgentRecords {
  std::map<std::string, polc::loader::AgentRecord> records;
  std::map<std::string, std::string> errors;
};
AgentRecords readAgentRecords(const std::filesystem::path& stateDir, const std::string& node) {
  AgentRecords found;
  for (const auto& name : polc::loader::agentRecordNodes(stateDir)) {
    if (!node.empty() && name != node) continue;
    auto record = polc::loader::readAgentRecord(stateDir, name);
    if (!record)
      found.errors[name] = record.error();
    else if (*record)
      found.records[name] = std::move(**record);
  }
  return found;
}

// The agent's lines of a node: what it applied, its last attempt, counts.
void printAgent(const AgentRecords& agents, const std::string& node) {
  if (auto error = agents.errors.find(node); error != agents.errors.end()) {
    std::cout << "  agent: " << error->second << "\n";
    return;
  }
  auto found = agents.records.find(node);
  if (found == agents.records.end()) return;
  const auto& record = found->second;
  std::cout << "  agent: watching " << record.source << "; " << record.loadsOk << " load(s) ok, "
            << record.loadsFailed << " failed\n";
  if (!record.appliedRevision.empty())
    std::cout << "    applied revision " << record.appliedRevision.substr(0, 16) << "  at "
              << utcText(record.appliedUnixNs) << "\n";
  if (const auto& last = record.lastAttempt) {
    std::cout << "    last attempt " << utcText(last->unixNs) << "  revision "
              << last->revision.substr(0, 16) << "  " << polc::loader::toString(last->outcome);
    if (last->outcome == polc::loader::AttemptOutcome::Loading)
      std::cout << " (interrupted, or in progress)";
    std::cout << "\n";
    if (!last->error.empty()) std::cout << "    error: " << last->error << "\n";
  }
}

nlohmann::json agentsJson(const AgentRecords& agents) {
  auto list = nlohmann::json::array();
  for (const auto& [node, record] : agents.records)
    list.push_back(nlohmann::json::parse(polc::loader::agentRecordJson(record)));
  for (const auto& [node, error] : agents.errors)
    list.push_back({{"node", node}, {"error", error}});
  return list;
}

// The command that removes what status found for a node whose state cannot
// be read, with the placement status was given.
std::string forceUnloadCommand(const polc::loader::NodeStatus& n,
                               const polc::loader::StatusRequest& request) {
  std::string command = "polc unload --force --node " + n.node + " --pin-root " + n.pinRoot +
                        " --state-dir " + request.stateDir.string();
  if (!n.netns.empty()) command += " --netns " + n.netns;
  return command;
}

// Exit 0 when what is attached is what polc recorded, 1 on drift, 3 when a
// node's state cannot be read (what the kernel shows is printed all the same).
int runStatus(const std::string& node, const PlacementOptions& options, bool pinRootGiven,
              bool netnsGiven, Format format) {
  polc::loader::StatusRequest request;
  request.node = node;
  request.stateDir = options.placement.stateDir;
  if (pinRootGiven) request.pinRoot = options.placement.pinRoot;
  if (netnsGiven) request.netns = options.placement.netns;
  if (!options.labPrefix.empty() && !node.empty())
    request.netns = polc::lab::nodeNamespace(options.labPrefix, node);
  request.fallbackPinRoot = options.placement.pinRoot;
  request.nodeNetns = labNodeNetns(options.labPrefix);
  auto loader = polc::loader::makeKernelLoader();
  auto report = loader->status(request);
  if (!report) return failSystem("status", report.failure(), format);
  if (!options.labPrefix.empty() && node.empty())
    std::erase_if(report->nodes, [&](const auto& n) { return !inLab(n, options.labPrefix); });
  const auto agents = readAgentRecords(request.stateDir, node);
  const bool unreadable = report->stateUnreadable();
  int exitCode = unreadable ? kExitSystem : report->inSync() ? kExitOk : kExitInputError;

  if (format == Format::Json) {
    auto nodes = nlohmann::json::array();
    for (const auto& n : report->nodes) {
      auto endpoints = nlohmann::json::array();
      for (const auto& e : n.endpoints) {
        auto programs = nlohmann::json::array();
        for (const auto& p : e.programs) {
          nlohmann::json program{{"hook", p.hook},
                                 {"program", p.program},
                                 {"recorded_id", p.recordedId},
                                 {"attached_id", nullptr},
                                 {"attached_name", p.attachedName},
                                 {"pinned_id", nullptr}};
          if (p.attachedId) program["attached_id"] = *p.attachedId;
          if (p.pinnedId) program["pinned_id"] = *p.pinnedId;
          programs.push_back(program);
        }
        auto maps = nlohmann::json::array();
        for (const auto& m : e.maps) maps.push_back(mapFillJson(m));
        nlohmann::json endpoint{{"endpoint", e.endpoint},
                                {"interface", e.interface},
                                {"ifindex", e.ifindex},
                                {"programs", programs},
                                {"maps", maps}};
        if (!e.monitorLevel.empty()) endpoint["monitor_level"] = e.monitorLevel;
        endpoint["audit"] = e.audit;
        endpoints.push_back(std::move(endpoint));
      }
      auto maps = nlohmann::json::array();
      for (const auto& m : n.maps) maps.push_back(mapFillJson(m));
      auto unrecorded = nlohmann::json::array();
      for (const auto& f : n.unrecordedFilters) unrecorded.push_back(foundFilterJson(f));
      nlohmann::json entry{
          {"node", n.node},         {"netns", n.netns},
          {"pin_root", n.pinRoot},  {"revision", n.revision},
          {"out_dir", n.outDir},    {"in_sync", n.drift.empty() && n.stateError.empty()},
          {"drift", n.drift},       {"maps", maps},
          {"endpoints", endpoints}, {"unrecorded_filters", unrecorded}};
      if (n.loadedUnixNs) entry["loaded_unix_ns"] = n.loadedUnixNs;
      if (n.monitor)
        entry["monitor"] = {
            {"level", n.monitor->level},      {"rate", n.monitor->rate},
            {"burst", n.monitor->burst},      {"events_sent", n.monitor->sent},
            {"events_lost", n.monitor->lost}, {"events_rate_limited", n.monitor->rateLimited},
            {"counting", n.monitor->counting}};
      if (!n.stateError.empty()) {
        entry["state_error"] = n.stateError;
        entry["found_pins"] = n.foundPins;
        entry["recover"] = forceUnloadCommand(n, request);
      }
      nodes.push_back(std::move(entry));
    }
    nlohmann::json out{{"ok", !unreadable},
                       {"in_sync", report->inSync()},
                       {"nodes", nodes},
                       {"agents", agentsJson(agents)}};
    if (unreadable) out["error"] = "the loader state of a node cannot be read";
    printJson(out);
    return exitCode;
  }

  // The agent of a node it never loaded (its first bundle refused, say).
  for (const auto& name : polc::loader::agentRecordNodes(request.stateDir))
    if ((node.empty() || name == node) &&
        std::none_of(report->nodes.begin(), report->nodes.end(),
                     [&](const auto& n) { return n.node == name; })) {
      std::cout << "node " << name << ": nothing loaded\n";
      printAgent(agents, name);
    }
  if (report->nodes.empty()) {
    std::cout << "polc status: nothing loaded"
              << (node.empty() ? std::string() : " for node " + node) << " (state dir "
              << request.stateDir.string() << ")\n";
    return kExitOk;
  }
  for (const auto& n : report->nodes) {
    if (!n.stateError.empty()) {
      std::cout << "node " << n.node << ": STATE UNREADABLE\n"
                << "  netns " << (n.netns.empty() ? "(this one)" : n.netns) << "  pins "
                << n.pinRoot << "\n";
      for (const auto& d : n.drift) std::cout << "  " << d << "\n";
      std::cout << "  to remove it all: " << forceUnloadCommand(n, request) << "\n";
      continue;
    }
    std::cout << "node " << n.node << (n.drift.empty() ? ": in sync" : ": DRIFT") << "\n"
              << "  revision " << (n.revision.empty() ? "(not recorded)" : n.revision.substr(0, 16))
              << (n.outDir.empty() ? "" : "  from " + n.outDir)
              << (n.loadedUnixNs ? "  loaded " + utcText(n.loadedUnixNs) : "") << "\n"
              << "  netns " << (n.netns.empty() ? "(this one)" : n.netns) << "  pins " << n.pinRoot
              << "\n";
    if (!n.maps.empty()) {
      std::cout << "  maps:";
      for (const auto& m : n.maps) std::cout << "  " << mapFillText(m);
      std::cout << "\n";
    }
    if (n.monitor)
      std::cout << "  events: reports " << n.monitor->level << " (rate " << n.monitor->rate
                << "/s, burst " << n.monitor->burst << " per endpoint); " << n.monitor->sent
                << " sent, " << n.monitor->lost << " lost, " << n.monitor->rateLimited
                << " rate-limited\n  counters: " << (n.monitor->counting ? "on" : "off")
                << " (polc stats)\n";
    for (const auto& e : n.endpoints) {
      std::cout
          << "  " << e.endpoint << " on "
          << e.interface << (n.monitor && e.monitorLevel != n.monitor->level ? "  (reports " + e.monitorLevel + ")" : "")
          << (e.audit ? "  AUDIT (denied packets pass)" : "") << "\n";
      for (const auto& p : e.programs) {
        std::cout << "    " << p.hook << "  " << p.program << " id " << p.recordedId;
        if (!p.attachedId)
          std::cout << "  [filter missing]";
        else if (*p.attachedId != p.recordedId)
          std::cout << "  [replaced by id " << *p.attachedId << " " << p.attachedName << "]";
        if (!p.pinnedId) std::cout << "  [pin missing]";
        std::cout << "\n";
      }
      if (!e.maps.empty()) {
        std::cout << "    maps:";
        for (const auto& m : e.maps) std::cout << "  " << mapFillText(m);
        std::cout << "\n";
      }
    }
    for (const auto& d : n.drift) std::cout << "  drift: " << d << "\n";
    printAgent(agents, n.node);
  }
  return exitCode;
}

} // namespace

void registerStatus(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<StatusOptions>();
  auto* status = app.add_subcommand(
      "status", "Show what polc attached, from which build, table fill, and any drift");
  status->add_option("--node", options->node, "Only this node (default: all)");
  addPlacementOptions(status, options->placement);
  addFormatOption(status, context.format, FormatFlag::DeprecatedOutput);
  context.add(status, [options, status, &context] {
    return runStatus(options->node, options->placement, status->count("--pin-root") > 0,
                     status->count("--netns") > 0, context.format);
  });
}

} // namespace polc::cli
