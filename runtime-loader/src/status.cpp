#include "status.h"

#include "node_pins.h"
#include "node_state.h"
#include "polc/maps/libbpf.h"
#include "polc/maps/map_backend.h"
#include "polc/maps/monitor_maps.h"
#include "polc/support/netns_guard.h"
#include "polc/support/unique_fd.h"
#include "tc.h"
#include "tc_query.h"

#include "polc/artifacts/manifest.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <map>
#include <set>
#include <vector>

namespace polc::runtime {

namespace fs = std::filesystem;
using loader::EndpointStatus;
using loader::MapFill;
using loader::NodeStatus;
using loader::ProgramStatus;

namespace {

std::string pinOf(const std::string& node, const std::string& endpoint, const std::string& name) {
  return endpoint.empty() ? node + "/" + name : node + "/" + endpoint + "/" + name;
}

// The id of the program pinned at path, if there is one.
std::optional<uint32_t> pinnedProgramId(const fs::path& path) {
  UniqueFd fd(bpf_obj_get(path.c_str()));
  if (!fd.valid()) return std::nullopt;
  bpf_prog_info info{};
  uint32_t length = sizeof info;
  if (bpf_obj_get_info_by_fd(fd.get(), &info, &length) != 0) return std::nullopt;
  return info.id;
}

// The kernel's (possibly truncated) name of a loaded program; empty if gone.
std::string programName(uint32_t id) {
  UniqueFd fd(bpf_prog_get_fd_by_id(id));
  if (!fd.valid()) return "";
  bpf_prog_info info{};
  uint32_t length = sizeof info;
  if (bpf_obj_get_info_by_fd(fd.get(), &info, &length) != 0) return "";
  return info.name;
}

// What the node reports, each endpoint's own level (by ifindex) and which
// are in audit, from its pinned monitor maps; nullopt when they are not
// pinned or unreadable.
std::optional<loader::MonitorStatus> monitorStatus(const fs::path& pinRoot, const std::string& node,
                                                   std::map<uint32_t, std::string>& levels,
                                                   std::set<uint32_t>& audit) {
  auto& kernel = maps::kernelMaps();
  auto open = [&](const char* map) { return kernel.openPinned(pinRoot / pinOf(node, "", map)); };
  auto config = open(artifacts::kMapMonitorConfig);
  auto endpoints = open(artifacts::kMapMonitorEndpoints);
  auto stats = open(artifacts::kMapEventStats);
  if (!config || !endpoints || !stats || !config->valid() || !endpoints->valid() || !stats->valid())
    return std::nullopt;
  auto settings = maps::readMonitorSettings(kernel, {config->handle(), endpoints->handle()});
  auto counts =
      maps::readEventCounts(kernel, stats->handle(), unsigned(libbpf_num_possible_cpus()));
  if (!settings || !counts) return std::nullopt;
  for (const auto& [ifindex, level] : settings->endpoints)
    levels[ifindex] = std::string(maps::toString(level));
  audit = settings->audit;
  return loader::MonitorStatus{std::string(maps::toString(settings->node)),
                               settings->rate,
                               settings->burst,
                               counts->sent,
                               counts->lost,
                               counts->limited,
                               settings->counting};
}

// Counts the entries of the map pinned at pinRoot/pin by walking its keys
// (works for hash, LRU and LPM trie maps alike).
MapFill mapFill(const fs::path& pinRoot, const std::string& map, const std::string& pin,
                const NodeState& state) {
  MapFill fill;
  fill.map = map;
  fill.pin = pin;
  if (auto loaded = state.mapEntries.find(pin); loaded != state.mapEntries.end())
    fill.loadedEntries = loaded->second;
  UniqueFd fd(bpf_obj_get((pinRoot / pin).c_str()));
  if (!fd.valid()) return fill;
  bpf_map_info info{};
  uint32_t length = sizeof info;
  if (bpf_obj_get_info_by_fd(fd.get(), &info, &length) != 0) return fill;
  fill.pinned = true;
  fill.capacity = info.max_entries;
  std::vector<unsigned char> current(info.key_size), next(info.key_size);
  const void* previous = nullptr;
  // Bounded: a map cannot hold more than its capacity (LRU eviction during
  // the walk could otherwise restart it).
  while (fill.entries <= info.max_entries &&
         bpf_map_get_next_key(fd.get(), previous, next.data()) == 0) {
    ++fill.entries;
    current.swap(next);
    previous = current.data();
  }
  return fill;
}

// Which of the hooks run polc's filter (hooks[i] is on interface *names[i]).
Status foundFilters(TcFilterQuery& filters, const std::vector<TcFilterQuery::Hook>& hooks,
                    const std::vector<const std::string*>& names,
                    std::vector<loader::FoundFilter>& found) {
  auto ids = filters.programIds(hooks);
  if (!ids) return Error{ids.error()};
  for (size_t i = 0; i < hooks.size(); ++i)
    if ((*ids)[i]) found.push_back({*names[i], hooks[i].hook, *(*ids)[i], programName(*(*ids)[i])});
  return okStatus();
}

std::string describe(const loader::FoundFilter& filter) {
  return "polc's filter on " + filter.interface + " " + filter.hook + " runs program id " +
         std::to_string(filter.programId) + " (" + filter.programName + ")";
}

bool recorded(const NodeState& state, const std::string& pin) {
  return std::find(state.pins.begin(), state.pins.end(), pin) != state.pins.end();
}

// Drift of a filled map: its pin is gone, or its contents changed since the
// load (conntrack has no recorded count: it changes with traffic).
void checkMap(const MapFill& fill, const NodeState& state, std::vector<std::string>& drift) {
  if (!fill.pinned) {
    if (recorded(state, fill.pin)) drift.push_back("map pin " + fill.pin + " is missing");
    return;
  }
  if (fill.loadedEntries && *fill.loadedEntries != fill.entries)
    drift.push_back("map " + fill.pin + " holds " + std::to_string(fill.entries) +
                    " entries, the load left " + std::to_string(*fill.loadedEntries) +
                    " (changed outside polc)");
}

NodeStatus nodeStatus(const NodeState& state) {
  NodeStatus status;
  std::map<uint32_t, std::string> monitorLevels; // endpoints with their own level
  std::set<uint32_t> inAudit;
  status.node = state.node;
  status.netns = state.netns;
  status.pinRoot = state.pinRoot;
  status.revision = state.revision;
  status.loadedUnixNs = state.loadedUnixNs;
  status.outDir = state.outDir;
  const fs::path pinRoot = state.pinRoot;
  auto& drift = status.drift;
  if (state.pending)
    drift.push_back("a load of revision " + state.pending->revision.substr(0, 12) +
                    " was interrupted while " + state.pending->phase +
                    (state.pending->phase == "preparing"
                         ? " (the recorded revision is still in force)"
                         : " (endpoints may run either revision)") +
                    "; run polc load again to finish it, or polc unload");

  for (const auto* map : {artifacts::kMapIpcache, artifacts::kMapConntrack}) {
    auto pin = pinOf(state.node, "", map);
    if (!recorded(state, pin)) continue;
    status.maps.push_back(mapFill(pinRoot, map, pin, state));
    checkMap(status.maps.back(), state, drift);
  }

  status.monitor = monitorStatus(pinRoot, state.node, monitorLevels, inAudit);

  // Endpoints in the order the state lists them.
  for (const auto& attachment : state.attachments) {
    auto it = std::find_if(status.endpoints.begin(), status.endpoints.end(),
                           [&](const auto& e) { return e.endpoint == attachment.endpoint; });
    if (it == status.endpoints.end()) {
      EndpointStatus endpoint;
      endpoint.endpoint = attachment.endpoint;
      endpoint.interface = attachment.interface;
      endpoint.ifindex = attachment.ifindex;
      if (status.monitor) {
        auto own = monitorLevels.find(uint32_t(attachment.ifindex));
        endpoint.monitorLevel = own != monitorLevels.end() ? own->second : status.monitor->level;
        endpoint.audit = inAudit.contains(uint32_t(attachment.ifindex));
      }
      status.endpoints.push_back(std::move(endpoint));
      it = std::prev(status.endpoints.end());
    }
    ProgramStatus program;
    program.hook = attachment.hook;
    program.program = attachment.program;
    program.recordedId = attachment.programId;
    auto pin = pinOf(state.node, attachment.endpoint, attachment.program);
    program.pinnedId = pinnedProgramId(pinRoot / pin);
    if (!program.pinnedId)
      drift.push_back(attachment.endpoint + ": program pin " + pin + " is missing");
    else if (*program.pinnedId != attachment.programId)
      drift.push_back(attachment.endpoint + ": program pin " + pin + " holds program id " +
                      std::to_string(*program.pinnedId) + ", not the attached id " +
                      std::to_string(attachment.programId));
    it->programs.push_back(program);
  }
  for (auto& endpoint : status.endpoints)
    for (const auto* map : {artifacts::kMapPolicyIngress, artifacts::kMapPolicyEgress}) {
      auto pin = pinOf(state.node, endpoint.endpoint, map);
      if (!recorded(state, pin)) continue;
      endpoint.maps.push_back(mapFill(pinRoot, map, pin, state));
      checkMap(endpoint.maps.back(), state, drift);
    }

  // The tc filters, seen from the namespace that holds the interfaces.
  if (!state.netns.empty() && !netnsExists(state.netns)) {
    drift.push_back("network namespace " + state.netns +
                    " is gone, and with it every filter polc attached there");
    return status;
  }
  auto netns = NetnsGuard::enter(state.netns);
  if (!netns) {
    drift.push_back("cannot look at the filters: " + netns.error());
    return status;
  }
  auto filters = TcFilterQuery::open();
  if (!filters) {
    drift.push_back("cannot look at the filters: " + filters.error());
    return status;
  }
  for (auto& endpoint : status.endpoints) {
    const auto& name = endpoint.interface;
    auto index = interfaceIndex(name);
    if (!index) {
      drift.push_back(endpoint.endpoint + ": interface " + name +
                      " is gone, and with it polc's filters");
      continue;
    }
    if (*index != endpoint.ifindex)
      drift.push_back(endpoint.endpoint + ": interface " + name + " was recreated (ifindex " +
                      std::to_string(*index) + ", polc attached to " +
                      std::to_string(endpoint.ifindex) + ")");
    for (auto& program : endpoint.programs) {
      auto attached = filters->programId(*index, program.hook);
      if (!attached) {
        drift.push_back(endpoint.endpoint + ": " + attached.error());
        continue;
      }
      program.attachedId = *attached;
      const auto where = program.hook + " of " + name;
      if (!program.attachedId) {
        drift.push_back(endpoint.endpoint + ": polc's filter at " + where +
                        " is missing (polc attached program id " +
                        std::to_string(program.recordedId) + ")");
        continue;
      }
      program.attachedName = programName(*program.attachedId);
      if (*program.attachedId != program.recordedId)
        drift.push_back(endpoint.endpoint + ": the filter at " + where + " runs program id " +
                        std::to_string(*program.attachedId) + " (" + program.attachedName +
                        "), not id " + std::to_string(program.recordedId) + " (" + program.program +
                        ") that polc attached");
    }
  }

  // Hooks an interrupted load named before it attached, and no commit recorded.
  if (state.pending) {
    std::set<std::pair<std::string, std::string>> seen;
    for (const auto& attachment : state.attachments)
      seen.insert({attachment.interface, attachment.hook});
    std::vector<TcFilterQuery::Hook> hooks;
    std::vector<const std::string*> names;
    for (const auto& hook : state.pending->hooks) {
      if (!seen.insert({hook.interface, hook.hook}).second) continue;
      auto index = interfaceIndex(hook.interface);
      if (!index || *index != hook.ifindex) continue; // gone, and polc's filter with it
      hooks.push_back({hook.ifindex, hook.hook});
      names.push_back(&hook.interface);
    }
    auto found = foundFilters(*filters, hooks, names, status.unrecordedFilters);
    if (!found) drift.push_back("cannot look at the filters: " + found.error());
    for (const auto& filter : status.unrecordedFilters)
      drift.push_back(describe(filter) +
                      ", attached by the interrupted load: no commit recorded it");
  }
  return status;
}

// A node whose state file or journal cannot be read: nothing is recorded to
// compare with, so the status is what the kernel shows, never "nothing
// loaded": the node's pins below the pin root, and polc's filters on every
// interface of the namespace.
NodeStatus unreadableNodeStatus(const std::string& node, const NodeRecords& records,
                                const loader::StatusRequest& request) {
  NodeStatus status;
  status.node = node;
  for (const auto* error : {&records.stateError, &records.journalError})
    if (!error->empty()) status.stateError += (status.stateError.empty() ? "" : "; ") + *error;
  const auto* state = records.state ? &*records.state : nullptr;
  const auto* journal =
      records.journal && !records.journal->pinRoot.empty() ? &*records.journal : nullptr;
  const bool netnsKnown = state || journal || request.netns || request.nodeNetns;
  status.netns = state               ? state->netns
                 : journal           ? journal->netns
                 : request.netns     ? *request.netns
                 : request.nodeNetns ? request.nodeNetns(node)
                                     : "";
  status.pinRoot = state     ? state->pinRoot
                   : journal ? journal->pinRoot
                             : request.pinRoot.value_or(request.fallbackPinRoot).string();
  if (state) {
    status.revision = state->revision;
    status.loadedUnixNs = state->loadedUnixNs;
    status.outDir = state->outDir;
  }
  auto& drift = status.drift;
  drift.push_back("the loader state cannot be read (" + status.stateError +
                  "): what follows is what the kernel shows, not what polc recorded");
  status.foundPins = pinsBelow(status.pinRoot, node);
  if (!status.foundPins.empty())
    drift.push_back(std::to_string(status.foundPins.size()) + " pin(s) under " +
                    (fs::path(status.pinRoot) / node).string());

  if (!status.netns.empty() && !netnsExists(status.netns)) {
    drift.push_back("network namespace " + status.netns + " is gone, and with it polc's filters");
  } else if (auto netns = NetnsGuard::enter(status.netns); !netns) {
    drift.push_back("cannot look at the filters: " + netns.error());
  } else if (auto filters = TcFilterQuery::open(); !filters) {
    drift.push_back("cannot look at the filters: " + filters.error());
  } else {
    // Every interface: no record that can be read lists every hook (an
    // unreadable journal may name hooks the state does not).
    std::map<std::string, int> interfaces;
    if (auto all = allInterfaces())
      interfaces = std::move(*all);
    else
      drift.push_back("cannot look at the filters: " + all.error());
    std::vector<TcFilterQuery::Hook> hooks;
    std::vector<const std::string*> names;
    for (const auto& [name, index] : interfaces)
      for (const auto* hook : {kHookTcIngress, kHookTcEgress}) {
        hooks.push_back({index, hook});
        names.push_back(&name);
      }
    auto found = foundFilters(*filters, hooks, names, status.unrecordedFilters);
    if (!found) drift.push_back("cannot look at the filters: " + found.error());
    for (const auto& filter : status.unrecordedFilters) drift.push_back(describe(filter));
    if (!netnsKnown)
      drift.push_back("no record says which network namespace holds the node's interfaces: "
                      "polc's filters were looked for in this one only (give --netns or --lab)");
  }
  return status;
}

} // namespace

Expected<loader::StatusReport> kernelStatus(const loader::StatusRequest& request) {
  std::vector<std::string> nodes;
  if (request.node.empty())
    nodes = nodesWithState(request.stateDir);
  else
    nodes.push_back(request.node);
  loader::StatusReport report;
  for (const auto& node : nodes) {
    if (auto ok = checkPathComponent("node", node); !ok) return Error{ok.error()};
    auto records = readNodeRecords(request.stateDir, node);
    if (records.empty()) continue; // nothing loaded for this node
    if (!records.readable()) {     // shown whatever the filters: it may be anywhere
      report.nodes.push_back(unreadableNodeStatus(node, records, request));
      continue;
    }
    NodeState state;
    if (records.state) {
      state = std::move(*records.state);
    } else { // a journal whose state file is lost
      state.node = node;
      state.netns = records.journal->netns;
      state.pinRoot = records.journal->pinRoot;
    }
    state.pending = std::move(records.journal);
    if (request.pinRoot && fs::path(state.pinRoot) != *request.pinRoot) continue;
    if (request.netns && state.netns != *request.netns) continue;
    report.nodes.push_back(nodeStatus(state));
  }
  return report;
}

} // namespace polc::runtime
