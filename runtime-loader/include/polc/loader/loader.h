// The loader: takes a build output directory (never .pol or YAML) and makes
// the kernel enforce one node's part of it. Behind an interface so the
// logic above it can be tested with a fake.
#pragma once

#include "polc/support/expected.h"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace polc::loader {

// polc's tc filters: a fixed handle and priority on the clsact hooks, so that
// a reload replaces them in place and unload removes exactly these.
inline constexpr uint32_t kTcFilterHandle = 0x504c; // "PL"
inline constexpr uint32_t kTcFilterPriority = 0xc0;

// Pin layout below Placement::pinRoot:
//   <node>/polc_ipcache, <node>/polc_ct, ...          shared by the node's endpoints
//                                                     (artifacts::kNodeMaps)
//   <node>/<endpoint>/polc_policy_in|polc_policy_eg   per endpoint
//   <node>/<endpoint>/polc_from_ep|polc_to_ep         the attached programs
// State: <stateDir>/<node>.json lists every attachment and pin; the journal
// <stateDir>/<node>.pending, while a load runs (or after it was killed), its
// staged pins and every hook it attaches to.

struct Placement {
  // Root of this loader's pins on a bpffs; mounted if it is not one yet.
  std::filesystem::path pinRoot = "/sys/fs/bpf/polc";
  // Where the loader records what it attached (for unload and status).
  std::filesystem::path stateDir = "/run/polc";
  // Network namespace (a name under /run/netns) that holds the node's
  // host-side interfaces; empty = the loader's own namespace.
  std::string netns;
};

// Loads and unloads of one state dir (and so of the pins it records) run
// one at a time, under an flock on <stateDir>/lock; a second one waits this
// long for the first, then fails naming the holder's pid.
inline constexpr std::chrono::milliseconds kDefaultLockTimeout = std::chrono::seconds(30);

struct LoadRequest {
  std::filesystem::path outDir;
  std::string node; // empty: the manifest's only node
  Placement placement;
  std::chrono::milliseconds lockTimeout = kDefaultLockTimeout;
  // Empty: no signature required. Otherwise a public key file or a directory
  // of them (artifacts/signature.h): the build must carry a signature by one
  // of those keys, checked before anything in the kernel changes.
  std::filesystem::path trust{};
};

struct AttachedProgram {
  std::string endpoint;
  std::string interface;
  std::string hook;    // "tc-ingress" or "tc-egress"
  std::string program; // program name in the object
  uint32_t programId = 0;
};

// Entries a load added to, removed from and rewrote in one map.
struct TableChange {
  size_t added = 0;
  size_t removed = 0;
  size_t changed = 0;
  bool none() const { return added == 0 && removed == 0 && changed == 0; }
  bool operator==(const TableChange&) const = default;
};

// What a load did to one endpoint.
enum class EndpointAction {
  Attached,      // new on this node: programs loaded and attached
  Replaced,      // programs changed: loaded with new tables, swapped on the hooks
  TablesUpdated, // same programs: policy maps updated in place
  Unchanged,     // nothing to do
  Detached,      // no longer on the node (or has nothing to enforce): removed
};
const char* toString(EndpointAction);

struct EndpointReport {
  std::string endpoint;
  std::string interface;
  EndpointAction action = EndpointAction::Unchanged;
  TableChange ingress; // against what the endpoint enforced before
  TableChange egress;
  size_t entries = 0; // policy entries it enforces now
};

struct LoadReport {
  std::string node;
  std::string revision;         // the build now in force (SHA-256 of its manifest.json)
  std::string previousRevision; // empty on a first load
  std::string signedBy;         // id of the trusted key that signed it (LoadRequest::trust)
  std::vector<EndpointReport> endpoints;
  std::vector<AttachedProgram> attached; // programs attached or replaced by this load
  TableChange ipcache;
  // The service maps (polc_services, polc_maglev, polc_backends together)
  // and the frontends they hold now.
  TableChange services;
  size_t serviceFrontends = 0;
  size_t policyEntries = 0;  // entries the node's policy maps hold now
  size_t ipcacheEntries = 0; // entries the ipcache holds now
  // Tables (the ipcache and services.json included) whose change was found by comparing the
  // new file with the text kept at the last load, line by line, instead of
  // reading the whole table and its map: those loads cost what changed.
  size_t tablesDiffed = 0;
  // Wall clock of the load's phases, in milliseconds: reading and verifying
  // the artifacts; interfaces, journal and preparing the new objects; the
  // switch; the commit (pins, state). 0 when not measured.
  struct Timing {
    double read = 0, prepare = 0, switched = 0, commit = 0;
    double total() const { return read + prepare + switched + commit; }
  } milliseconds;
};

// The report as `polc load` prints it: one summary line, then one line per
// endpoint; and as JSON (`-o json`, with "ok": true).
std::string loadReportText(const LoadReport&);
std::string loadReportJson(const LoadReport&);

// The network namespace of a node when no readable record names it (the CLI
// passes a polc lab's node namespace). The loader asks it only for such a
// node; an empty function means there is no such guess.
using NodeNetns = std::function<std::string(const std::string& node)>;

struct UnloadRequest {
  std::string node; // empty: every node this placement has state for
  Placement placement;
  std::chrono::milliseconds lockTimeout = kDefaultLockTimeout;
  // Also a node whose state file or journal cannot be read: remove polc's
  // filters and the node's pins found without them (docs/cli.md, "polc
  // unload --force"). Where to look when no readable record names the
  // namespace: placement.netns if netnsGiven, else nodeNetns(node) if set,
  // else the loader's own.
  bool force = false;
  bool netnsGiven = false;
  NodeNetns nodeNetns = {};
};

// What status finds, compared with what the last load recorded.
struct StatusRequest {
  std::string node; // empty: every node with state in stateDir
  std::filesystem::path stateDir = "/run/polc";
  // Filters: only nodes recorded with this pin root / network namespace. A
  // node whose state cannot be read is always shown; these say where to
  // look for its pins and filters then, or else fallbackPinRoot and
  // nodeNetns(node) (if set) or status's own namespace.
  std::optional<std::filesystem::path> pinRoot;
  std::optional<std::string> netns;
  std::filesystem::path fallbackPinRoot = Placement{}.pinRoot;
  NodeNetns nodeNetns = {};
};

// Entries in a pinned map against its capacity.
struct MapFill {
  std::string map; // e.g. "polc_policy_in"
  std::string pin; // relative to the pin root
  bool pinned = false;
  uint64_t entries = 0;
  uint32_t capacity = 0;
  std::optional<uint64_t> loadedEntries; // what the load left in it, if recorded
};

struct ProgramStatus {
  std::string hook;                   // "tc-ingress" or "tc-egress"
  std::string program;                // program name in the object
  uint32_t recordedId = 0;            // what polc attached
  std::optional<uint32_t> attachedId; // polc's filter on the hook now, if any
  std::string attachedName;           // the kernel's name of that program
  std::optional<uint32_t> pinnedId;   // the program pinned for it, if the pin exists
};

struct EndpointStatus {
  std::string endpoint;
  std::string interface;
  int ifindex = 0;
  std::vector<ProgramStatus> programs;
  std::vector<MapFill> maps; // policy maps
  std::string monitorLevel;  // what it reports (its own level or the node's); empty: unknown
  bool audit = false;        // in audit mode: what policy denies passes, reported
};
// What a node's datapath reports (polc monitor), from its pinned maps.
struct MonitorStatus {
  std::string level; // the node's: off, drops, flows, all
  uint32_t rate = 0, burst = 0;
  // Since the node's maps were created (its first load).
  uint64_t sent = 0, lost = 0, rateLimited = 0;
  bool counting = true; // packet and byte counters (polc stats)
};

// A tc filter of polc's (kTcFilterHandle, kTcFilterPriority) that no
// committed load recorded.
struct FoundFilter {
  std::string interface;
  std::string hook;
  uint32_t programId = 0;
  std::string programName; // the kernel's (possibly truncated) name
};

struct NodeStatus {
  std::string node;
  std::string netns;
  std::string pinRoot;
  std::string revision; // SHA-256 of the loaded build's manifest.json
  std::string outDir;
  uint64_t loadedUnixNs = 0; // when its load began (CLOCK_REALTIME); 0: not recorded
  std::vector<EndpointStatus> endpoints;
  std::vector<MapFill> maps;            // node maps: ipcache, conntrack
  std::optional<MonitorStatus> monitor; // absent when its maps are not pinned
  // Every way the kernel differs from what was recorded, one sentence
  // each; empty = what is attached is what polc loaded.
  std::vector<std::string> drift;
  // polc's filters that only an interrupted load's journal names (or, when
  // the state cannot be read, every one found in the namespace).
  std::vector<FoundFilter> unrecordedFilters;
  // Set when the node's state file or journal cannot be read: then nothing
  // above comes from a record, and foundPins lists every pin below
  // <pinRoot>/<node>.
  std::string stateError;
  std::vector<std::string> foundPins;
};

struct StatusReport {
  std::vector<NodeStatus> nodes;
  bool inSync() const {
    for (const auto& node : nodes)
      if (!node.drift.empty() || !node.stateError.empty()) return false;
    return true;
  }
  bool stateUnreadable() const {
    for (const auto& node : nodes)
      if (!node.stateError.empty()) return true;
    return false;
  }
};

struct UnloadReport {
  std::vector<AttachedProgram> detached;
  size_t pinsRemoved = 0;
};

class Loader {
public:
  virtual ~Loader() = default;
  virtual Expected<LoadReport> load(const LoadRequest&) = 0;
  virtual Expected<UnloadReport> unload(const UnloadRequest&) = 0;
  // Read-only: what is attached and pinned, and how it differs from the
  // recorded state. A node whose state cannot be read is reported with
  // stateError and what the kernel shows (never as nothing loaded).
  virtual Expected<StatusReport> status(const StatusRequest&) = 0;
};

std::unique_ptr<Loader> makeKernelLoader();

} // namespace polc::loader
