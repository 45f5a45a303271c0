// `polc agent`: watches a directory that something else fills (a git
// checkout a timer pulls, a directory a pipeline syncs into) for new bundles
// of one node, loads each new one through the Loader, and records what it
// did beside the loader's state (docs/cli.md, "polc agent").
//
// The parts a test can drive without a kernel or a clock are separate: where
// the bundle is (bundleDirectory), what identifies one bundle's bytes
// (fingerprintBundle), whether to try it (shouldLoad), the record
// (AgentRecord) and one pass of the loop (Agent::check, with any Loader).
#pragma once

#include "polc/loader/loader.h"
#include "polc/support/expected.h"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace polc::loader {

// The node's bundle in `source`: source/<node>/ as `polc bundle -o source`
// writes it, when that is a directory; else `source` itself when its
// manifest.json lists the node (a build output, or one node's bundle);
// else nullopt (nothing to load yet).
std::optional<std::filesystem::path> bundleDirectory(const std::filesystem::path& source,
                                                     const std::string& node);

// What identifies the bundle's bytes as they are now, without hashing every
// file (the loader does that, and refuses a mismatch): the SHA-256 of
// manifest.json, of manifest.sig (if any) and of a listing of every file
// below the bundle (path, size, modification time). A bundle whose objects
// arrive after its manifest gets another fingerprint when they do.
struct BundleFingerprint {
  std::string digest;        // the fingerprint
  std::string revision;      // SHA-256 of manifest.json: the revision a load of it would give
  bool signedBundle = false; // manifest.sig exists
};
// An error when manifest.json cannot be read (absent: a sync has not
// written it yet).
Expected<BundleFingerprint> fingerprintBundle(const std::filesystem::path& bundle);

enum class AttemptOutcome {
  Loading, // written before the load: what a killed agent leaves
  Ok,
  Failed,
};
const char* toString(AttemptOutcome);

struct AgentAttempt {
  uint64_t unixNs = 0; // when it began (CLOCK_REALTIME)
  std::string fingerprint;
  std::string revision;
  std::string bundle; // the directory loaded
  AttemptOutcome outcome = AttemptOutcome::Loading;
  std::string error; // Failed: the loader's message
  double milliseconds = 0;
  bool operator==(const AgentAttempt&) const = default;
};

// What the agent of one node did, in <stateDir>/<node>.agent (JSON; not
// .json, which names the loader's own state files).
struct AgentRecord {
  std::string node;
  std::string source;
  std::string appliedRevision; // the last revision the agent loaded
  std::string appliedFingerprint;
  uint64_t appliedUnixNs = 0; // when that load began
  std::optional<AgentAttempt> lastAttempt;
  uint64_t loadsOk = 0, loadsFailed = 0;
  bool operator==(const AgentRecord&) const = default;
};

std::filesystem::path agentRecordFile(const std::filesystem::path& stateDir,
                                      const std::string& node);
// nullopt when the node has no record.
Expected<std::optional<AgentRecord>> readAgentRecord(const std::filesystem::path& stateDir,
                                                     const std::string& node);
// Atomic and durable (polc::writeFile), creating stateDir if needed.
Status writeAgentRecord(const std::filesystem::path& stateDir, const AgentRecord&);
// The record as the file holds it (JSON; what `polc status -o json` shows).
std::string agentRecordJson(const AgentRecord&);
// The nodes with an agent record in stateDir, sorted.
std::vector<std::string> agentRecordNodes(const std::filesystem::path& stateDir);

// Whether a bundle with this fingerprint is to be loaded: when no attempt
// was recorded, when the last one was of other bytes, or when it never
// finished (the agent was killed during it). Not after a failure of the
// same bytes: a failed bundle is tried again only when it changes. Not
// after a success of the same bytes either: the loaded revision stays.
bool shouldLoad(const std::optional<AgentRecord>& record, const std::string& fingerprint);

struct AgentOptions {
  std::filesystem::path source;
  std::string node;
  std::filesystem::path trust; // keys a bundle must be signed by (LoadRequest::trust)
  Placement placement;
  std::chrono::milliseconds lockTimeout = kDefaultLockTimeout;
  // A look at the bundle this often even without a change seen (inotify
  // misses changes on some network filesystems, and a source directory that
  // is replaced as a whole is watched again only then).
  std::chrono::milliseconds interval = std::chrono::seconds(30);
  // After a change, the quiet that must follow before the bundle is read: a
  // sync writes many files.
  std::chrono::milliseconds quiet = std::chrono::milliseconds(200);
};

// One agent: its record, read at construction, and the decision and load
// of one look at the bundle. `log` gets one line per event.
class Agent {
public:
  Agent(Loader& loader, AgentOptions options, std::ostream& log, std::ostream& errors);

  // Looks at the bundle now: loads it when shouldLoad says so (for the
  // bundle's fingerprint combined with the bytes of the trusted keys, so
  // that trusting a new key tries again a bundle it signed), and records
  // the attempt (before the load, and its outcome after). What it found
  // and did is logged; an error only when the record cannot be written.
  Status check();
  const std::optional<AgentRecord>& record() const { return record_; }
  const AgentOptions& options() const { return options_; }

private:
  Status load(const std::filesystem::path& bundle, const BundleFingerprint& fingerprint);
  void say(std::ostream& out, const std::string& line);
  void waiting(const std::string& why);

  Loader& loader_;
  AgentOptions options_;
  std::ostream& log_;
  std::ostream& errors_;
  std::optional<AgentRecord> record_;
  std::string waitingFor_; // the last "waiting" line, said once
};

// Runs the agent until SIGTERM or SIGINT: looks at the bundle at once, then
// after every quiet period that follows a change inotify reports below the
// source directory (the node's bundle watched recursively, watched again
// after each look, so a bundle renamed into place is seen), and every
// `interval`. The signals are blocked and read from a signalfd, so a load
// in progress is never interrupted: the agent stops after it. Nothing is
// unloaded. An error only when it cannot start (the trusted keys cannot be
// read, inotify, signalfd).
Status runAgent(Loader& loader, const AgentOptions& options, std::ostream& log,
                std::ostream& errors);

} // namespace polc::loader
