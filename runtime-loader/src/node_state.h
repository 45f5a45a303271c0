// What the loader attached and pinned for one node, recorded in
// <stateDir>/<node>.json so that unload (and later status) can undo exactly
// that and nothing else.
#pragma once

#include "polc/support/expected.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace polc::runtime {

struct TcAttachment {
  std::string endpoint;
  std::string interface;
  int ifindex = 0;
  std::string hook; // "tc-ingress" or "tc-egress"
  uint32_t handle = 0;
  uint32_t priority = 0;
  std::string program;
  uint32_t programId = 0;
  bool qdiscCreatedByPolc = false; // the clsact qdisc on this interface is ours to remove
  bool operator==(const TcAttachment&) const = default;
};

// What one endpoint runs, so that the next load can tell whether its
// programs change or only its tables.
struct EndpointRecord {
  std::string interface;
  int ifindex = 0;
  uint32_t identity = 0;
  std::string objectSha256;
  std::vector<std::string> programs; // names, sorted
  // The digests of the tables the object compiles in as code (ingress
  // first): part of the program, like its object.
  std::vector<std::string> inlineTables;
  bool operator==(const EndpointRecord&) const = default;
};

// A tc hook a load attaches to, recorded in the journal before it does.
struct HookRecord {
  std::string interface;
  int ifindex = 0;
  std::string hook;                // "tc-ingress" or "tc-egress"
  bool qdiscCreatedByPolc = false; // no clsact qdisc was there: the load creates it
  bool operator==(const HookRecord&) const = default;
};

// A load in progress: written before the first kernel change and removed
// when the load commits or rolls back, so that a load that was killed
// leaves a trace: status reports it, and unload and the next load undo
// what it may have done (its staged pins and the hooks it names).
struct PendingLoad {
  std::string revision;
  std::string outDir;
  std::string phase;             // "preparing" (nothing live changed) or "switching"
  std::vector<std::string> pins; // the staged pins it creates, relative to pinRoot
  // Every hook the load attaches to, written before the switch; and the
  // hooks of an interrupted earlier load, until a load has cleaned them.
  std::vector<HookRecord> hooks = {};
  // Where the load went, so that the journal alone is enough to undo it
  // (absent in journals of earlier versions).
  std::string netns = {};
  std::string pinRoot = {};
  bool operator==(const PendingLoad&) const = default;
};

struct NodeState {
  std::string node;
  std::string netns;
  std::string pinRoot;
  // The build this node runs: the SHA-256 of its manifest.json (which lists
  // every file's digest, so it names the whole build), and where it was.
  // Empty in state written before revisions were recorded.
  std::string revision;
  std::string outDir;
  // When the load of that revision began (CLOCK_REALTIME, ns; 0 in state
  // written before it was recorded): what `polc monitor --since-load` shows.
  uint64_t loadedUnixNs = 0;
  std::vector<TcAttachment> attachments;
  std::vector<std::string> pins; // relative to pinRoot, e.g. "n1/polc_ct"; sorted
  // Entries each filled map held after the load, by pin (status compares).
  std::map<std::string, uint64_t> mapEntries;
  // The SHA-256 of the table file each policy map was filled from, by pin.
  // Only polc writes its pinned maps, under the state lock, and it records
  // these only when a load commits: a later load whose table has the same
  // digest knows what the map holds without reading it (docs/cli.md).
  std::map<std::string, std::string> tableSha256;
  std::map<std::string, EndpointRecord> endpoints;
  std::optional<PendingLoad> pending;
  bool operator==(const NodeState&) const = default;
};

std::filesystem::path stateFile(const std::filesystem::path& stateDir, const std::string& node);
// nullopt when there is neither a state file nor a journal for the node; a
// journal alone (its state file lost) gives a state with no attachments,
// the journal's netns and pin root, and `pending`.
Expected<std::optional<NodeState>> readNodeState(const std::filesystem::path& file);

// The state file and the journal, each read on its own: for status and
// `unload --force`, which act on whatever of them can still be read.
struct NodeRecords {
  std::optional<NodeState> state;     // without `pending`
  std::optional<PendingLoad> journal; //
  std::string stateError;             // why the state file could not be read, if it exists
  std::string journalError;           // the same for the journal
  bool readable() const { return stateError.empty() && journalError.empty(); }
  bool empty() const { return !state && !journal && readable(); }
};
NodeRecords readNodeRecords(const std::filesystem::path& stateDir, const std::string& node);
// What status and unload say to do about a state that cannot be read.
std::string unreadableStateHint(const std::string& node);
// Atomic: written to a temporary next to the file, then renamed over it.
// Does not write `pending`: that is the journal, a file of its own
// (<stateDir>/<node>.pending, small so that writing it is cheap), which
// readNodeState reads into `pending`.
Status writeNodeState(const std::filesystem::path& stateDir, const NodeState&);
std::filesystem::path pendingFile(const std::filesystem::path& stateDir, const std::string& node);
Status writePendingLoad(const std::filesystem::path& stateDir, const std::string& node,
                        const PendingLoad&);
void removePendingLoad(const std::filesystem::path& stateDir, const std::string& node);
// Node names that have a state file or a journal in stateDir, whatever the
// entries are (a directory where the state file should be is listed too:
// status reports it, unload refuses it).
std::vector<std::string> nodesWithState(const std::filesystem::path& stateDir);

} // namespace polc::runtime
