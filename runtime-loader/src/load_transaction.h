// One load of a node's build onto the kernel, as a transaction
// (docs/cli.md, "Reloads are transactions"):
//   1. readBuild:     read and verify the artifacts; ask what the recorded
//                     hooks run                               (kernel read only)
//   2. inspectKernel: resolve every interface; see what the kernel runs, plan
//      readTables:    parse the tables the live maps do not hold (read-only)
//   3. writeJournal:  record the load and its staged pins    (state dir only)
//   4. prepare:       load new objects with fresh policy maps, fill them, pin
//                     programs and maps beside the live pins (nothing switched)
//   5. switchOver:    ipcache, in-place tables, tc filters replaced in place,
//                     stale filters detached; every step records its undo
//   6. commit:        staged pins renamed over the live ones, state written
// A failure in 3-5 undoes the switch and removes the staged pins (fail): the
// previous revision stays in force. A killed load leaves its journal, which
// names its staged pins and, before the switch, every hook it attaches to:
// status reports it, unload removes all of it, and the next load removes its
// pins and detaches its hooks that the new revision does not use. The caller
// holds the state lock throughout and calls the steps in order, stopping at
// an error.
#pragma once

#include "load_maps.h"
#include "load_plan.h"
#include "map_delta.h"
#include "node_state.h"
#include "polc/maps/libbpf.h"
#include "polc/maps/map_backend.h"
#include "polc/support/netns_guard.h"
#include "polc/support/unique_fd.h"
#include "service_maps.h"

#include "polc/artifacts/manifest.h"
#include "polc/loader/loader.h"
#include "polc/support/expected.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace polc::runtime {

struct ProgramToAttach {
  std::string name; // program name in the object
  std::string hook;
};

// One endpoint's part of the load, from the artifacts to the kernel.
struct EndpointLoad {
  const artifacts::EndpointArtifacts* artifacts = nullptr;
  const std::string* tableFile[2] = {}; // [ingress, egress], relative to the build
  std::string tableSha256[2];           // their digests in the manifest
  // The live policy map holds exactly this table already (see
  // tableKnownLoaded): neither the table nor the map is read, nothing changes.
  bool tableLoaded[2] = {false, false};
  uint64_t loadedEntries[2] = {0, 0}; // what it holds then, as recorded
  std::vector<ProgramToAttach> programs;
  int ifindex = 0;
  bool qdiscOurs = false; // as the journal records it before the switch
  EndpointRecord record;
  ProgramPlan plan = ProgramPlan::Attach;
  maps::BpfObjectPtr object;   // new programs (Attach, Replace)
  maps::MapContents wanted[2]; // policy maps [ingress, egress] of the new revision
  // The entries of the tables the object compiles in as code, for its .rodata.
  std::vector<artifacts::PolicyEntry> inlineTable[2];
  maps::MapContents live[2]; // what the live policy maps hold
  // `live` and `wanted` hold only the entries that differ (map_delta.h):
  // the live map holds the recorded table, whose text is kept.
  bool delta[2] = {false, false};
  uint64_t deltaEntries[2] = {0, 0}; // the new table's entries then
  maps::OpenMap liveMap[2];          // the live policy maps, if pinned
  loader::EndpointReport report;

  uint64_t entries(int direction) const {
    if (tableLoaded[direction]) return loadedEntries[direction];
    return delta[direction] ? deltaEntries[direction] : wanted[direction].size();
  }
};

class LoadTransaction {
public:
  // `log` collects libbpf's messages for the errors; it outlives the load.
  // The pinned maps are read and written through `maps` (the kernel's).
  LoadTransaction(const loader::LoadRequest& request, maps::LibbpfLogCapture& log,
                  maps::MapBackend& maps = maps::kernelMaps());
  LoadTransaction(const LoadTransaction&) = delete;
  LoadTransaction& operator=(const LoadTransaction&) = delete;

  Status readBuild();
  Status inspectKernel();
  Status readTables();
  Status writeJournal();
  Status prepare();
  Status switchOver();
  Expected<loader::LoadReport> commit();

private:
  double lap();

  // 1. The build.
  const Status& verified();
  Error readError(const std::string& message);
  std::string digestOf(const std::string& file) const;
  Status readIpcache();
  Status readServices();
  Status readWholeServices();
  std::optional<MapDelta> deltaFromSnapshot(const std::string& pin, const std::string& file,
                                            const std::string& mapName,
                                            decltype(&policyMapDelta) compute);
  Status collectEndpoints();
  Status usePreviousState(Expected<std::optional<NodeState>> read);

  // 2. The kernel.
  struct RecordedHooks {
    std::map<std::string, int> interfaces; // index of each recorded interface still there
    std::set<std::string> intact; // endpoints whose hooks and pins are as recorded (docs/cli.md)
  };
  Expected<RecordedHooks> inspectRecordedHooks() const;
  Status resolveInterfaces(const std::map<std::string, int>& interfaces);

  // 3. The journal.
  std::vector<std::string> stagedPins() const;
  bool qdiscWasOurs(const std::string& interface, int ifindex) const;
  Status recordHooks();

  // 3-5. Undoing.
  Error fail(const std::string& message);
  Error fail(const Error& error); // keeps its errno, object and libbpf log

  // 4. Prepare.
  Status readLiveTables(EndpointLoad& endpoint);
  Status loadObject(EndpointLoad& endpoint);
  Status fillTables();
  Status pinPrograms();

  // 5. Switch.
  Status updateIpcache();
  Status updateServices();
  Status updateKeptTables();
  Expected<uint32_t> swapFilter(int ifindex, const std::string& interface, const std::string& hook,
                                int programFd);
  Status attachPrograms();
  Status detachStale();
  void removeQdiscIfUnused(const std::string& interface);
  Status detachInterruptedHooks();

  // 6. Commit.
  std::string renameStagedPins();
  std::string removeStaleQdiscs();
  void recordPins();
  void recordEndpoints();
  void keepTableSnapshots();

  const loader::LoadRequest& request_;
  const loader::Placement& placement_;
  maps::LibbpfLogCapture& log_;
  maps::MapBackend& maps_;
  std::chrono::steady_clock::time_point lastLap_;
  uint64_t startedUnixNs_ = 0; // becomes the state's loadedUnixNs at commit
  void forgetCountersOfGoneInterfaces();
  loader::LoadReport::Timing timing_;

  artifacts::Manifest manifest_;
  std::optional<artifacts::ManifestVerification> verification_; // of manifest_: after it
  std::future<void> verifying_;                                 // a thread of verification_
  std::optional<Status> verdict_;
  Status checkSignature();
  std::string revision_; // manifest.json's SHA-256 (it lists every file's: names the build)
  const artifacts::NodeArtifacts* node_ = nullptr;
  std::string ipcacheName_;
  std::string epochName_;
  maps::MapContents wantedIpcache_;
  bool ipcacheLoaded_ = false; // the pinned ipcache holds it already (knownFilled): not parsed
  uint64_t ipcacheEntries_ = 0;
  std::vector<EndpointLoad> endpoints_;
  bool nodeWasRecorded_ = false; // a state file existed before this load
  NodeState previous_;
  // The journal of a killed earlier load (its staged pins removed by
  // writeJournal): the hooks it may have attached stay recorded until this
  // load commits, and a rollback puts it back.
  std::optional<PendingLoad> interrupted_;
  std::future<Expected<RecordedHooks>> recordedHooks_; // reads previous_: declared after it

  LoadPlan plan_;
  std::vector<std::string> sharedMaps_; // artifacts::kNodeMaps, in its order
  NodeState state_;
  Rollback rollback_;

  loader::LoadReport report_;
  size_t policyEntries_ = 0;
  std::optional<NetnsGuard> netns_; // entered for the switch and the commit
  maps::OpenMap ipcacheMap_;
  maps::OpenMap ipcacheLengthsMap_; // the prefix lengths the ipcache holds
  maps::OpenMap epochMap_;          // the node's policy epoch; invalid: no object uses one
  maps::MapContents ipcacheBefore_;
  std::optional<MapDelta> ipcacheDelta_; // its lengths, when wanted/before are a delta
  // The service maps (service_maps.h): wanted from services.json (empty
  // when the build has none), what they held, and the update's scratch.
  // With servicesDelta_, wanted and before hold only the entries that
  // differ (serviceMapDelta); with servicesLoaded_, the maps hold the file
  // already (knownFilled) and nothing is read or written.
  ServiceMaps wantedServices_, servicesBefore_, servicesUnion_;
  bool servicesLoaded_ = false, servicesDelta_ = false;
  // The three service maps were pinned when the load read the services:
  // the maps it updates are those, and must still be there when it writes.
  bool servicesPinnedAtRead_ = false;
  uint64_t serviceFrontends_ = 0;
  std::array<maps::OpenMap, 3> serviceMaps_; // polc_services, polc_maglev, polc_backends
  // Digests of the tables this load read whole and found strictly sorted,
  // or reached through a delta: their texts are kept at commit.
  std::set<std::string> snapshotCandidates_;
  std::vector<TcAttachment> attachments_;
  std::set<std::pair<std::string, std::string>> hooksNow_; // (interface, hook)
  std::set<std::string> qdiscsToRemove_;
};

} // namespace polc::runtime
