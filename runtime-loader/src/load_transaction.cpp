#include "load_transaction.h"

#include "table_snapshots.h"

#include "polc/maps/counter_maps.h"
#include "polc/maps/inline_slots.h"

#include "bpffs.h"
#include "load_steps.h"
#include "node_pins.h"
#include "pin_root_owner.h"
#include "tc.h"
#include "tc_query.h"

#include "polc/artifacts/digest.h"
#include "polc/artifacts/signature.h"
#include "polc/artifacts/table_lines.h"
#include "polc/artifacts/tables.h"
#include "polc/support/files.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string_view>
#include <unordered_set>

#include <unistd.h>

namespace polc::runtime {

namespace fs = std::filesystem;
using loader::EndpointAction;
using loader::kTcFilterHandle;
using loader::kTcFilterPriority;

namespace {

// Parses a file from the very bytes its digest was verified on: the load
// never opens an artifact's path again (a file swapped after its check
// must never be what is loaded).
template <typename T>
Expected<T> parseVerified(const artifacts::ManifestVerification& verification,
                          const std::string& file, auto&& fromJson) {
  const std::string* text = verification.verifiedBytes(file);
  if (!text) return Error{file + ": not among the verified files of the load"};
  auto parsed = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return Error{file + ": not valid JSON"};
  auto value = fromJson(parsed); // reports malformed content as an Error, never throws
  if (!value) return Error{file + ": " + value.error()};
  return std::move(value).value();
}

// The files of the node that the load may use: kept in memory by the
// verification that hashes them.
std::set<std::string> filesOfNode(const artifacts::NodeArtifacts& node) {
  std::set<std::string> files{node.ipcache};
  for (const auto& endpoint : node.endpoints) {
    if (!endpoint.object) continue; // nothing of it is loaded
    files.insert(*endpoint.object);
    files.insert(endpoint.ingressTable);
    files.insert(endpoint.egressTable);
  }
  return files;
}

// A table a delta may start from: its lines are its entries, each once.
template <typename Entry> bool strictlySorted(const std::vector<Entry>& entries) {
  return std::adjacent_find(entries.begin(), entries.end(), std::greater_equal<>()) ==
         entries.end();
}

loader::TableChange tableChange(const maps::ContentChange& change) {
  return {change.added, change.removed, change.changed};
}

constexpr const char* kPolicyMaps[2] = {artifacts::kMapPolicyIngress, artifacts::kMapPolicyEgress};
constexpr const char* kDirections[2] = {"ingress", "egress"};

std::vector<ProgramToAttach> programsOf(const artifacts::EndpointArtifacts& endpoint) {
  std::vector<ProgramToAttach> programs;
  if (endpoint.fromEndpointProgram)
    programs.push_back({artifacts::kProgFromEndpoint, kHookTcIngress});
  if (endpoint.toEndpointProgram) programs.push_back({artifacts::kProgToEndpoint, kHookTcEgress});
  return programs;
}

void removeStateFile(const fs::path& stateDir, const std::string& node) {
  std::error_code ec;
  fs::remove(stateFile(stateDir, node), ec);
}

std::string shortRevision(const std::string& revision) {
  return revision.empty() ? "none" : revision.substr(0, 12);
}

Expected<const artifacts::NodeArtifacts*> chooseNode(const artifacts::Manifest& manifest,
                                                     const std::string& requested) {
  std::string names;
  for (const auto& node : manifest.nodes) names += (names.empty() ? "" : ", ") + node.name;
  if (!requested.empty()) {
    if (const auto* node = manifest.findNode(requested)) return node;
    return Error{"node \"" + requested + "\" is not in the manifest (nodes: " + names + ")"};
  }
  if (manifest.nodes.size() == 1) return &manifest.nodes.front();
  if (manifest.nodes.empty()) return Error{"the manifest has no nodes"};
  return Error{"the manifest has several nodes (" + names + "); choose one with --node"};
}

// The endpoints whose hooks run exactly the recorded programs and whose
// recorded program and policy map pins exist: only their programs can be
// kept (docs/cli.md, "What a load checks again"). Every program uses the
// node's shared maps too: when a recorded one's pin is gone, this load
// pins a new map that only new programs would read, so none is kept. The
// pins are checked on a second thread while the hooks are asked.
Expected<std::set<std::string>> intactEndpoints(const NodeState& state, const fs::path& pinRoot,
                                                const std::map<std::string, int>& interfaces) {
  std::set<std::string> intact, broken;
  if (state.attachments.empty()) return intact;
  auto filters = TcFilterQuery::open();
  if (!filters) return Error{filters.error()};
  const std::unordered_set<std::string_view> recorded(state.pins.begin(), state.pins.end());
  std::vector<std::string> pins;
  std::vector<const std::string*> pinEndpoint;
  auto check = [&](const std::string& endpoint, std::string pin) {
    if (!recorded.contains(pin)) return; // never pinned (a map the object does not have)
    pins.push_back(std::move(pin));
    pinEndpoint.push_back(&endpoint);
  };
  static const std::string kNodeWide; // the "endpoint" of the shared maps' pins
  for (const auto* map : artifacts::kNodeMaps) check(kNodeWide, relativePin(state.node, "", map));
  std::unordered_set<std::string_view> endpoints;
  for (const auto& attachment : state.attachments) {
    const auto& endpoint = attachment.endpoint;
    check(endpoint, relativePin(state.node, endpoint, attachment.program));
    if (endpoints.insert(endpoint).second)
      for (const auto* map : kPolicyMaps) check(endpoint, relativePin(state.node, endpoint, map));
  }
  auto pinsExist =
      std::async(std::launch::async, [&] { return existingPins(pinRoot, state.node, pins); });
  // What every hook runs, asked in batches: a query per hook would dominate
  // a load that changes one table on a node of thousands of endpoints.
  std::vector<TcFilterQuery::Hook> hooks;
  for (const auto& attachment : state.attachments)
    hooks.push_back({attachment.ifindex, attachment.hook});
  auto attached = filters->programIds(hooks);
  const auto exist = pinsExist.get();
  if (!attached) return Error{attached.error()};
  for (size_t i = 0; i < state.attachments.size(); ++i) {
    const auto& attachment = state.attachments[i];
    auto index = interfaces.find(attachment.interface);
    // The same interface (not one recreated under its name) runs the same program.
    bool same = index != interfaces.end() && index->second == attachment.ifindex &&
                (*attached)[i] && *(*attached)[i] == attachment.programId;
    (same ? intact : broken).insert(attachment.endpoint);
  }
  // The commit keeps an intact endpoint's pins unlooked.
  for (size_t i = 0; i < pins.size(); ++i)
    if (!exist[i]) {
      if (pinEndpoint[i] == &kNodeWide) return std::set<std::string>{};
      broken.insert(*pinEndpoint[i]);
    }
  for (const auto& name : broken) intact.erase(name);
  return intact;
}

} // namespace

LoadTransaction::LoadTransaction(const loader::LoadRequest& request, maps::LibbpfLogCapture& log,
                                 maps::MapBackend& maps)
    : request_(request), placement_(request.placement), log_(log), maps_(maps),
      lastLap_(std::chrono::steady_clock::now()),
      startedUnixNs_(uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count())) {}

// Milliseconds since the previous lap: the report's phase timings.
double LoadTransaction::lap() {
  auto now = std::chrono::steady_clock::now();
  double milliseconds = std::chrono::duration<double, std::milli>(now - lastLap_).count();
  lastLap_ = now;
  return milliseconds;
}

// ---- 1. The build ----------------------------------------------------------

// Refuses tampered or incomplete output before any change to the kernel.
// Hashing every file runs beside the reading below (which needs none of
// the files), and its verdict comes first. The node's files stay in memory
// as they were hashed: everything later parses and loads those bytes.
Status LoadTransaction::readBuild() {
  auto manifest = artifacts::readManifest(request_.outDir, &revision_);
  if (!manifest) return Error{manifest.error()};
  if (auto ok = checkSignature(); !ok) return ok;
  manifest_ = std::move(*manifest);
  auto chosen = chooseNode(manifest_, request_.node);
  auto files = chosen ? filesOfNode(**chosen) : std::set<std::string>{};
  if (!manifest_.services.empty()) files.insert(manifest_.services);
  verification_.emplace(request_.outDir, manifest_, std::move(files));
  verifying_ = std::async(std::launch::async, [this] { verification_->work(); });
  if (!chosen) return readError(chosen.error());
  node_ = *chosen;
  if (auto ok = checkPathComponent("node", node_->name); !ok) return readError(ok.error());
  // The state is parsed on another thread meanwhile.
  auto previous = std::async(std::launch::async, [this] {
    return readNodeState(stateFile(placement_.stateDir, node_->name));
  });
  if (auto ok = collectEndpoints(); !ok) return ok;
  if (auto ok = usePreviousState(previous.get()); !ok) return ok;
  // Meanwhile the kernel is asked what the recorded hooks run (a read: the
  // kernel changes only once every digest is verified).
  recordedHooks_ = std::async(std::launch::async, [this] { return inspectRecordedHooks(); });
  if (const auto& ok = verified(); !ok) return Error{ok.error()};
  if (auto step = reachStep("verify"); !step) return Error{step.error()};
  timing_.read = lap();
  return okStatus();
}

// With --trust, the very manifest bytes just read must carry a signature by
// a trusted key; their digests then vouch for every other file.
Status LoadTransaction::checkSignature() {
  if (request_.trust.empty()) return okStatus();
  auto keys = artifacts::readTrustedKeys(request_.trust);
  if (!keys) return Error{keys.error()};
  auto signer = artifacts::verifySignature(request_.outDir, revision_, *keys,
                                           std::chrono::system_clock::now());
  if (!signer) return Error{signer.failure().withContext("refusing to load: ")};
  report_.signedBy = *signer;
  return okStatus();
}

// The main thread helps with what is left to hash.
const Status& LoadTransaction::verified() {
  if (!verdict_) {
    verification_->work();
    verifying_.get();
    verdict_ = verification_->result();
  }
  return *verdict_;
}

// An error found while the hashing runs: the hashing's own comes first.
Error LoadTransaction::readError(const std::string& message) {
  if (const auto& ok = verified(); !ok) return Error{ok.error()};
  return Error{message};
}

// A file's digest in the manifest; "" when it has none (which the
// verification reports).
std::string LoadTransaction::digestOf(const std::string& file) const {
  auto digest = manifest_.files.find(file);
  return digest == manifest_.files.end() ? std::string() : digest->second;
}

Status LoadTransaction::readIpcache() {
  const auto& node = *node_;
  ipcacheName_ = std::string(artifacts::kMapIpcache) + " of node " + node.name;
  epochName_ = std::string(artifacts::kMapPolicyEpoch) + " of node " + node.name;
  const auto pin = relativePin(node.name, "", artifacts::kMapIpcache);
  const auto digest = digestOf(node.ipcache);
  auto loaded = knownFilled(previous_, pin, digest);
  std::error_code ec; // (a pin that is gone means a new map, filled from the file)
  ipcacheLoaded_ = loaded.has_value() && fs::exists(placement_.pinRoot / pin, ec);
  if (ipcacheLoaded_) {
    ipcacheEntries_ = *loaded; // the same bytes as the last load's: read and checked then
    return okStatus();
  }
  if (auto delta = deltaFromSnapshot(pin, node.ipcache, ipcacheName_, ipcacheMapDelta)) {
    ipcacheBefore_ = std::move(delta->before);
    wantedIpcache_ = std::move(delta->after);
    ipcacheEntries_ = delta->entries;
    ipcacheDelta_ = std::move(delta);
    snapshotCandidates_.insert(digest);
    return okStatus();
  }
  auto ipcache = parseVerified<artifacts::Ipcache>(
      *verification_, node.ipcache, [](const auto& j) { return artifacts::ipcacheFromJson(j); });
  if (!ipcache) return readError(ipcache.error());
  if (strictlySorted(ipcache->entries)) snapshotCandidates_.insert(digest);
  auto ipcacheEntries = maps::toIpcacheMapEntries(*ipcache);
  if (!ipcacheEntries) return readError(node.ipcache + ": " + ipcacheEntries.error());
  auto wantedIpcache = maps::toMapContents(ipcacheName_, *ipcacheEntries);
  if (!wantedIpcache) return readError(wantedIpcache.error());
  wantedIpcache_ = std::move(*wantedIpcache);
  ipcacheEntries_ = wantedIpcache_.size();
  return okStatus();
}

// The change of the map pinned at `pin` to the table `file`, as the entries
// that differ: when the state says which table the map holds, its text is
// kept (table_snapshots.h), and the new table adds no key the map holds
// already. nullopt: the table is read whole, and the map too.
std::optional<MapDelta> LoadTransaction::deltaFromSnapshot(const std::string& pin,
                                                           const std::string& file,
                                                           const std::string& mapName,
                                                           decltype(&policyMapDelta) compute) {
  if (previous_.pending) return std::nullopt; // a killed load may have written the map
  auto recorded = previous_.tableSha256.find(pin);
  const std::string* text = verification_->verifiedBytes(file);
  if (recorded == previous_.tableSha256.end() || !text) return std::nullopt;
  auto before = readTableSnapshot(placement_.stateDir, node_->name, recorded->second);
  if (!before) return std::nullopt;
  auto delta = compute(mapName, *before, *text);
  if (!delta) return std::nullopt;
  auto live = maps_.openPinned(placement_.pinRoot / pin);
  if (!live || !live->valid()) return std::nullopt;
  auto addsLive = addsLiveKey(maps_, live->handle(), mapName, delta->before, delta->after);
  if (!addsLive || *addsLive) return std::nullopt;
  return delta;
}

// The tables are parsed once the plan is known (readTables): only those the
// live maps do not hold already.
Status LoadTransaction::collectEndpoints() {
  for (const auto& endpoint : node_->endpoints) {
    if (!endpoint.object) continue; // nothing to enforce there
    if (auto ok = checkPathComponent("endpoint", endpoint.name); !ok) return readError(ok.error());
    EndpointLoad load;
    load.artifacts = &endpoint;
    load.programs = programsOf(endpoint);
    load.tableFile[0] = &endpoint.ingressTable;
    load.tableFile[1] = &endpoint.egressTable;
    for (int direction = 0; direction < 2; ++direction)
      load.tableSha256[direction] = digestOf(*load.tableFile[direction]);
    load.record.objectSha256 = digestOf(*endpoint.object);
    // A table compiled in as code is part of the program: when it changes,
    // the program is loaded again (the plan sees a different record).
    if (endpoint.ingressInline) load.record.inlineTables.push_back(load.tableSha256[0]);
    if (endpoint.egressInline) load.record.inlineTables.push_back(load.tableSha256[1]);
    load.record.identity = endpoint.identity;
    load.record.interface = endpoint.interface;
    for (const auto& program : load.programs) load.record.programs.push_back(program.name);
    std::sort(load.record.programs.begin(), load.record.programs.end());
    endpoints_.push_back(std::move(load));
  }
  return okStatus();
}

Status LoadTransaction::usePreviousState(Expected<std::optional<NodeState>> previousRead) {
  if (!previousRead) return readError(previousRead.error());
  if (*previousRead && ((*previousRead)->pinRoot != placement_.pinRoot.string() ||
                        (*previousRead)->netns != placement_.netns))
    return readError("node " + node_->name + " is loaded with pin root " +
                     (*previousRead)->pinRoot + " and netns \"" + (*previousRead)->netns +
                     "\"; unload it before changing either");
  nodeWasRecorded_ = previousRead->has_value();
  previous_ = *previousRead ? std::move(**previousRead) : NodeState{};
  return okStatus();
}

// ---- 2. The kernel, read only ------------------------------------------------

// What the hooks recorded at the last commit run now, and which recorded
// interfaces still exist: read only.
Expected<LoadTransaction::RecordedHooks> LoadTransaction::inspectRecordedHooks() const {
  RecordedHooks recorded;
  if (previous_.attachments.empty()) return recorded;
  if (!placement_.netns.empty() && !netnsExists(placement_.netns))
    return recorded; // inspectKernel says so
  auto netns = NetnsGuard::enter(placement_.netns);
  if (!netns) return Error{netns.error()};
  std::set<std::string> names;
  for (const auto& attachment : previous_.attachments) names.insert(attachment.interface);
  recorded.interfaces = interfaceIndexes(names);
  auto intact = intactEndpoints(previous_, placement_.pinRoot, recorded.interfaces);
  if (!intact) return Error{"checking what the hooks run: " + intact.error()};
  recorded.intact = std::move(*intact);
  return recorded;
}

// All interfaces must exist before anything is loaded. Also what the kernel
// really runs, so that only intact endpoints keep their programs.
Status LoadTransaction::inspectKernel() {
  auto recorded = recordedHooks_.get(); // started by readBuild
  if (!placement_.netns.empty() && !netnsExists(placement_.netns))
    return Error{"network namespace \"" + placement_.netns + "\" does not exist (" + kNetnsDir +
                 ")"};
  if (!recorded) return Error{recorded.error()};
  auto& interfaces = recorded->interfaces;
  {
    std::set<std::string> names; // those the recorded hooks did not resolve
    for (const auto& endpoint : endpoints_)
      if (!interfaces.contains(endpoint.artifacts->interface))
        names.insert(endpoint.artifacts->interface);
    if (!names.empty()) {
      auto netns = NetnsGuard::enter(placement_.netns);
      if (!netns) return Error{netns.error()};
      interfaces.merge(interfaceIndexes(names));
    }
  }
  if (auto ok = resolveInterfaces(interfaces); !ok) return ok;
  const auto& intact = recorded->intact;
  if (auto step = reachStep("interfaces"); !step) return Error{step.error()};

  std::vector<std::pair<std::string, EndpointRecord>> wanted;
  for (const auto& endpoint : endpoints_)
    wanted.emplace_back(endpoint.artifacts->name, endpoint.record);
  plan_ = planLoad(previous_, wanted, intact);
  for (size_t i = 0; i < endpoints_.size(); ++i) endpoints_[i].plan = plan_.endpoints[i].programs;
  return okStatus();
}

Status LoadTransaction::resolveInterfaces(const std::map<std::string, int>& interfaces) {
  for (auto& endpoint : endpoints_) {
    auto index = interfaces.find(endpoint.artifacts->interface);
    if (index == interfaces.end())
      // Most often the right interfaces in another namespace: say how to name it.
      return Error{"endpoint " + endpoint.artifacts->name + ": interface " +
                   endpoint.artifacts->interface + " not found" +
                   (placement_.netns.empty()
                        ? " in this network namespace (if the node's interfaces are in another "
                          "one: --netns NAME, or --lab PREFIX for a `polc lab`)"
                        : " in network namespace " + placement_.netns +
                              " (--netns or --lab names the node's namespace)")};
    endpoint.ifindex = index->second;
    endpoint.record.ifindex = index->second;
  }
  return okStatus();
}

// What the service maps must hold: nothing when the build has no services;
// as in the ipcache, nothing to read when they hold this file already, and
// only the lines that differ when they hold one whose text was kept.
Status LoadTransaction::readServices() {
  if (manifest_.services.empty()) return okStatus();
  const auto pin = relativePin(node_->name, "", artifacts::kMapServices);
  const auto digest = digestOf(manifest_.services);
  std::error_code ec;
  // Both shortcuts rest on the pinned maps being the ones the state
  // describes (updateServices checks that this load did not create them).
  // All three, or the load recreates some (every program is replaced:
  // intactEndpoints), and what the others hold is read back whole.
  servicesPinnedAtRead_ = true;
  for (const char* map : {artifacts::kMapServices, artifacts::kMapMaglev, artifacts::kMapBackends})
    servicesPinnedAtRead_ = servicesPinnedAtRead_ &&
                            fs::exists(placement_.pinRoot / relativePin(node_->name, "", map), ec);
  if (!servicesPinnedAtRead_) return readWholeServices();
  if (auto loaded = knownFilled(previous_, pin, digest)) {
    servicesLoaded_ = true;
    serviceFrontends_ = *loaded;
    return okStatus();
  }
  if (!previous_.pending)
    if (auto recorded = previous_.tableSha256.find(pin); recorded != previous_.tableSha256.end())
      if (auto before = readTableSnapshot(placement_.stateDir, node_->name, recorded->second))
        if (const std::string* text = verification_->verifiedBytes(manifest_.services))
          if (auto delta = serviceMapDelta(*before, *text)) {
            servicesBefore_ = std::move(delta->before);
            wantedServices_ = std::move(delta->after);
            serviceFrontends_ = delta->frontends;
            servicesDelta_ = true;
            snapshotCandidates_.insert(digest);
            return okStatus();
          }
  return readWholeServices();
}

Status LoadTransaction::readWholeServices() {
  servicesDelta_ = false;
  auto wanted = parseVerified<ServiceMaps>(*verification_, manifest_.services, [](const auto& j) {
    return maps::toServiceMapContents(j);
  });
  if (!wanted) return readError(wanted.error());
  wantedServices_ = std::move(*wanted);
  serviceFrontends_ = wantedServices_.services.size();
  snapshotCandidates_.insert(digestOf(manifest_.services));
  return okStatus();
}

// Those the live maps hold already are known; the others are parsed (still
// no kernel change: a malformed table stops the load here).
Status LoadTransaction::readTables() {
  if (auto ok = readIpcache(); !ok) return ok;
  if (auto ok = readServices(); !ok) return ok;
  for (auto& endpoint : endpoints_) {
    for (int direction = 0; direction < 2; ++direction) {
      const auto pin = relativePin(node_->name, endpoint.artifacts->name, kPolicyMaps[direction]);
      if (auto entries =
              tableKnownLoaded(previous_, endpoint.plan, pin, endpoint.tableSha256[direction])) {
        endpoint.tableLoaded[direction] = true;
        endpoint.loadedEntries[direction] = *entries;
        continue;
      }
      const bool inlined =
          direction == 0 ? endpoint.artifacts->ingressInline : endpoint.artifacts->egressInline;
      const auto mapName = endpoint.artifacts->name + " " + kDirections[direction];
      std::optional<MapDelta> delta;
      if (endpoint.plan == ProgramPlan::Keep && !inlined)
        delta = deltaFromSnapshot(pin, *endpoint.tableFile[direction], mapName, policyMapDelta);
      endpoint.delta[direction] = delta.has_value();
      if (delta) {
        endpoint.live[direction] = std::move(delta->before);
        endpoint.wanted[direction] = std::move(delta->after);
        endpoint.deltaEntries[direction] = delta->entries;
        snapshotCandidates_.insert(endpoint.tableSha256[direction]);
      } else {
        auto table = parseVerified<artifacts::PolicyTable>(
            *verification_, *endpoint.tableFile[direction],
            [](const auto& j) { return artifacts::policyTableFromJson(j); });
        if (!table) return Error{table.error()};
        if (inlined) endpoint.inlineTable[direction] = table->entries;
        if (strictlySorted(table->entries))
          snapshotCandidates_.insert(endpoint.tableSha256[direction]);
        auto contents = maps::toMapContents(mapName, maps::toPolicyMapEntries(*table));
        if (!contents) return Error{contents.error()};
        endpoint.live[direction].clear();
        endpoint.wanted[direction] = std::move(*contents);
      }
      // An in-place update adds before it deletes: if old and new together
      // overflow the live map, the endpoint takes new maps sized for its
      // tables (reloading its programs), and both tables are read again.
      if (endpoint.plan == ProgramPlan::Keep) {
        auto live = previous_.mapEntries.find(pin);
        if (!fitsLiveMap(maps_, placement_.pinRoot / pin,
                         live == previous_.mapEntries.end() ? std::nullopt
                                                            : std::optional(live->second),
                         endpoint.entries(direction))) {
          endpoint.plan = ProgramPlan::Replace;
          endpoint.tableLoaded[0] = endpoint.tableLoaded[1] = false;
          endpoint.delta[0] = endpoint.delta[1] = false;
          direction = -1;
        }
      }
    }
  }
  if (auto step = reachStep("read-tables"); !step) return Error{step.error()};
  return okStatus();
}

// ---- 3. The journal --------------------------------------------------------

// Before the first kernel change, records which staged pins this load
// creates, so that a killed load can be cleaned up. A killed earlier load's
// staged pins go first.
Status LoadTransaction::writeJournal() {
  const auto& stateDir = placement_.stateDir;
  const auto& nodeName = node_->name;
  if (auto mounted = ensureBpffs(placement_.pinRoot); !mounted) return Error{mounted.error()};
  std::error_code pinRootError;
  fs::create_directories(placement_.pinRoot, pinRootError);
  if (pinRootError)
    return Error{"cannot create pin root " + placement_.pinRoot.string() + ": " +
                 pinRootError.message()};
  if (auto claimed = claimPinRoot(placement_.pinRoot, stateDir); !claimed)
    return Error{claimed.error()};
  if (previous_.pending) {
    removePins(placement_.pinRoot, nodeName, previous_.pending->pins);
    interrupted_ = std::move(previous_.pending);
    interrupted_->pins.clear();
    previous_.pending.reset();
  }
  sharedMaps_.clear();
  for (const auto* map : artifacts::kNodeMaps)
    sharedMaps_.push_back(relativePin(nodeName, "", map));
  // What the commit does not rebuild (attachments, pins, fills, digests and
  // endpoint records are all rebuilt: no copy of the previous ones).
  state_.revision = previous_.revision;
  state_.outDir = previous_.outDir;
  state_.loadedUnixNs = previous_.loadedUnixNs;
  state_.node = nodeName;
  state_.netns = placement_.netns;
  state_.pinRoot = placement_.pinRoot.string();
  std::error_code absoluteError;
  PendingLoad pending{revision_,
                      fs::absolute(request_.outDir, absoluteError).lexically_normal().string(),
                      "preparing",
                      stagedPins(),
                      interrupted_ ? interrupted_->hooks : std::vector<HookRecord>{},
                      placement_.netns,
                      placement_.pinRoot.string()};
  state_.pending = pending;
  // Nothing is in the kernel yet: a first load leaves no state and no claim.
  auto unrecorded = [&](const std::string& error) {
    if (!nodeWasRecorded_) {
      removeStateFile(stateDir, nodeName);
      releasePinRoot(placement_.pinRoot, stateDir);
    }
    return Error{"cannot record the load in the state dir: " + error};
  };
  if (!nodeWasRecorded_) // so that status and unload find the node even if the load is killed
    if (auto written = writeNodeState(stateDir, state_); !written)
      return unrecorded(written.error());
  if (auto written = writePendingLoad(stateDir, nodeName, pending); !written)
    return unrecorded(written.error());
  if (auto step = reachStep("journal"); !step) return fail(step.error());
  return okStatus();
}

// The pins this load creates: every new map and program beside the live
// one, and the shared maps not pinned yet.
std::vector<std::string> LoadTransaction::stagedPins() const {
  const auto& nodeName = node_->name;
  std::vector<std::string> createdSharedPins; // shared maps this load creates
  for (const auto& pin : sharedMaps_) {
    std::error_code ec;
    if (!fs::exists(placement_.pinRoot / pin, ec)) createdSharedPins.push_back(pin);
  }
  std::vector<std::string> pins;
  for (const auto& endpoint : endpoints_) {
    if (endpoint.plan == ProgramPlan::Keep) continue;
    const auto& name = endpoint.artifacts->name;
    for (const auto* map : {artifacts::kMapPolicyIngress, artifacts::kMapPolicyEgress})
      pins.push_back(relativePin(nodeName, name, map) + kStagedSuffix);
    for (const auto& program : endpoint.programs)
      pins.push_back(relativePin(nodeName, name, program.name) + kStagedSuffix);
  }
  pins.insert(pins.end(), createdSharedPins.begin(), createdSharedPins.end());
  return pins;
}

// Whether an earlier load (committed or killed) created the clsact qdisc on
// the interface: it stays polc's to remove across reloads.
bool LoadTransaction::qdiscWasOurs(const std::string& interface, int ifindex) const {
  for (const auto& old : previous_.attachments)
    if (old.interface == interface && old.ifindex == ifindex && old.qdiscCreatedByPolc) return true;
  if (interrupted_)
    for (const auto& hook : interrupted_->hooks)
      if (hook.interface == interface && hook.ifindex == ifindex && hook.qdiscCreatedByPolc)
        return true;
  return false;
}

// Every hook this load attaches to, and whether it creates the clsact qdisc
// there, joins the journal before the first is attached: unload and the
// next load must find a killed load's filters (and qdiscs) without a commit.
Status LoadTransaction::recordHooks() {
  std::vector<EndpointLoad*> attaching;
  for (auto& endpoint : endpoints_)
    if (endpoint.plan != ProgramPlan::Keep && !endpoint.programs.empty())
      attaching.push_back(&endpoint);
  if (attaching.empty()) return okStatus();
  auto query = TcFilterQuery::open();
  if (!query) return Error{query.error()};
  auto clsact = query->clsactInterfaces();
  if (!clsact) return Error{clsact.error()};
  for (auto* endpoint : attaching) {
    const auto& interface = endpoint->artifacts->interface;
    endpoint->qdiscOurs =
        !clsact->contains(endpoint->ifindex) || qdiscWasOurs(interface, endpoint->ifindex);
    for (const auto& program : endpoint->programs)
      state_.pending->hooks.push_back(
          {interface, endpoint->ifindex, program.hook, endpoint->qdiscOurs});
  }
  return okStatus();
}

// From the journal on, a failure restores the previous revision: the
// switch's undo actions, then the staged pins and the journal (the state
// file was not touched: it still describes the previous revision).
Error LoadTransaction::fail(const std::string& message) {
  return fail(Error{message});
}

Error LoadTransaction::fail(const Error& error) {
  const auto& message = error.message;
  const auto& stateDir = placement_.stateDir;
  std::string undoErrors = rollback_.run();
  removePins(placement_.pinRoot, node_->name, state_.pending->pins);
  // The journal goes, unless undoing failed: then hooks and maps may hold
  // neither revision, and the journal, which names every hook this load
  // touched, tells unload, status and the next load not to trust the state.
  // A killed earlier load's journal is put back: the hooks it attached may
  // still be there, and its maps were restored as they were, half written.
  std::string journalError;
  if (!undoErrors.empty()) {
    // kept as written, with the state file even of a first load
  } else if (interrupted_) {
    if (auto written = writePendingLoad(stateDir, node_->name, *interrupted_); !written)
      journalError = "\n(the journal still names this load: " + written.error() + ")";
  } else {
    removePendingLoad(stateDir, node_->name);
    if (!nodeWasRecorded_) {
      removeStateFile(stateDir, node_->name);
      releasePinRoot(placement_.pinRoot, stateDir);
    }
  }
  std::string text =
      "load failed, " +
      (previous_.revision.empty()
           ? std::string("nothing was loaded")
           : "the previous revision " + shortRevision(previous_.revision) + " is still in force") +
      ": " + message;
  if (!undoErrors.empty())
    text += "\nrolling back also failed (run polc load again or polc unload):" + undoErrors;
  return Error{text + journalError, error.errnum, error.object, error.libbpfLog};
}

// ---- 4. Prepare ------------------------------------------------------------

// Loads every new object with fresh policy maps (the shared ipcache and
// conntrack are reused), fills them, pins beside the live pins. Nothing that
// enforces policy changes yet.
Status LoadTransaction::prepare() {
  report_.node = node_->name;
  report_.revision = revision_;
  report_.previousRevision = previous_.revision;
  bool reachedLoad = false;
  for (auto& endpoint : endpoints_) {
    if (auto ok = readLiveTables(endpoint); !ok) return ok;
    if (endpoint.plan == ProgramPlan::Keep) continue;
    if (auto ok = loadObject(endpoint); !ok) return ok;
    if (!reachedLoad) {
      reachedLoad = true;
      if (auto step = reachStep("load-objects"); !step) return fail(step.error());
    }
  }
  if (auto ok = fillTables(); !ok) return ok;
  if (auto step = reachStep("fill-tables"); !step) return fail(step.error());
  if (auto ok = pinPrograms(); !ok) return ok;
  if (auto step = reachStep("pin-programs"); !step) return fail(step.error());
  timing_.prepare = lap();
  return okStatus();
}

// What the endpoint enforces now, for the report (and Keep's update).
Status LoadTransaction::readLiveTables(EndpointLoad& endpoint) {
  const auto& name = endpoint.artifacts->name;
  for (int direction = 0; direction < 2; ++direction) {
    if (endpoint.tableLoaded[direction]) continue; // holds what it should
    const char* mapName = kPolicyMaps[direction];
    auto live = maps_.openPinned(placement_.pinRoot / relativePin(node_->name, name, mapName));
    if (!live) return fail(live.error());
    endpoint.liveMap[direction] = std::move(*live);
    if (endpoint.delta[direction]) continue; // `live` holds what changes, from the snapshot
    if (endpoint.liveMap[direction].valid()) {
      auto contents = maps::readPolicyMap(maps_, endpoint.liveMap[direction].handle(),
                                          std::string(mapName) + " of " + name);
      if (!contents) return fail(contents.error());
      endpoint.live[direction] = std::move(*contents);
    }
  }
  return okStatus();
}

Status LoadTransaction::loadObject(EndpointLoad& endpoint) {
  const auto& name = endpoint.artifacts->name;
  const auto endpointPins = placement_.pinRoot / node_->name / name;
  const auto objectPath = request_.outDir / *endpoint.artifacts->object;
  std::error_code ec;
  fs::create_directories(endpointPins, ec);
  if (ec) return fail("cannot create pin directory " + endpointPins.string() + ": " + ec.message());
  // From the verified bytes, never from the path (see parseVerified).
  const std::string* bytes = verification_->verifiedBytes(*endpoint.artifacts->object);
  if (!bytes) return fail("endpoint " + name + ": " + objectPath.string() + " was not verified");
  LIBBPF_OPTS(bpf_object_open_opts, options, .object_name = objectPath.c_str());
  maps::BpfObjectPtr object(bpf_object__open_mem(bytes->data(), bytes->size(), &options));
  if (!object)
    return fail(maps::libbpfFailure("endpoint " + name + ": opening " + objectPath.string(), -errno,
                                    log_, objectPath.string()));
  std::set<std::string> wantedPrograms(endpoint.record.programs.begin(),
                                       endpoint.record.programs.end());
  bpf_program* program = nullptr;
  bpf_object__for_each_program(program, object.get()) {
    // Load only what the manifest asks to attach.
    bpf_program__set_autoload(program, wantedPrograms.contains(bpf_program__name(program)));
  }
  for (const auto& wantedName : wantedPrograms)
    if (!bpf_object__find_program_by_name(object.get(), wantedName.c_str()))
      return fail("endpoint " + name + ": object " + objectPath.string() + " has no program " +
                  wantedName);
  // The identity is not compiled in (endpoints share objects): it is
  // read-only config that the verifier sees as a constant.
  auto identitySet = maps::setReadOnlyConfig(object.get(), artifacts::kConfigEndpointIdentity,
                                             endpoint.artifacts->identity);
  if (!identitySet)
    return fail("endpoint " + name + ": object " + objectPath.string() + ": " +
                identitySet.error());
  // Tiny tables compiled in as code: their entries are .rodata too. (Their
  // policy maps are filled all the same: status and reports read them.)
  for (int direction = 0; direction < 2; ++direction) {
    const auto which =
        direction == 0 ? artifacts::Direction::Ingress : artifacts::Direction::Egress;
    const bool inlined =
        direction == 0 ? endpoint.artifacts->ingressInline : endpoint.artifacts->egressInline;
    if ((maps::inlineSlots(object.get(), which) != 0) != inlined)
      return fail("endpoint " + name + ": object " + objectPath.string() + " does not match the " +
                  "manifest: its " + std::string(toString(which)) + " table is " +
                  (inlined ? "inline there" : "a map there"));
    if (auto set = maps::setInlineTable(object.get(), which, endpoint.inlineTable[direction]); !set)
      return fail("endpoint " + name + ": object " + objectPath.string() + ": " + set.error());
  }
  std::vector<const char*> mapNames(artifacts::kNodeMaps.begin(), artifacts::kNodeMaps.end());
  mapNames.insert(mapNames.end(), std::begin(kPolicyMaps), std::end(kPolicyMaps));
  for (const auto* mapName : mapNames) {
    auto* map = bpf_object__find_map_by_name(object.get(), mapName);
    if (!map) continue; // a specialized program may not use every map
    bool shared = mapName != artifacts::kMapPolicyIngress && mapName != artifacts::kMapPolicyEgress;
    if (!shared) { // sized from its table: a hash allocates its buckets up front
      const auto& table = endpoint.wanted[mapName == artifacts::kMapPolicyEgress];
      if (int result = bpf_map__set_max_entries(map, maps::policyMapCapacity(table.size()));
          result != 0)
        return fail(maps::libbpfFailure("endpoint " + name + ": map " + mapName, result, log_,
                                        std::string("map ") + mapName + " of endpoint " + name));
    }
    auto path =
        placement_.pinRoot / (shared ? relativePin(node_->name, "", mapName)
                                     : relativePin(node_->name, name, mapName) + kStagedSuffix);
    if (!shared) (void)::unlink(path.c_str()); // fresh maps for the new programs
    if (int result = bpf_map__set_pin_path(map, path.c_str()); result != 0)
      return fail(maps::libbpfFailure("endpoint " + name + ": map " + mapName, result, log_,
                                      std::string("map ") + mapName + " of endpoint " + name));
  }
  if (int result = bpf_object__load(object.get()); result != 0)
    return fail(maps::libbpfFailure("endpoint " + name + ": loading " + objectPath.string(), result,
                                    log_, objectPath.string()));
  endpoint.object = std::move(object);
  return okStatus();
}

// The new objects' fresh policy maps get their tables; the report gets
// every table's change.
Status LoadTransaction::fillTables() {
  for (auto& endpoint : endpoints_) {
    const auto& name = endpoint.artifacts->name;
    for (int direction = 0; direction < 2; ++direction) {
      const auto* mapName = kPolicyMaps[direction];
      policyEntries_ += endpoint.entries(direction);
      if (endpoint.tableLoaded[direction]) continue; // unchanged: the report's change is none
      auto& change = direction == 0 ? endpoint.report.ingress : endpoint.report.egress;
      change =
          tableChange(maps::diffContents(endpoint.live[direction], endpoint.wanted[direction]));
      if (endpoint.plan == ProgramPlan::Keep) continue;
      auto* map = bpf_object__find_map_by_name(endpoint.object.get(), mapName);
      if (!map) {
        if (endpoint.wanted[direction].empty()) continue;
        return fail("endpoint " + name + ": object has no map " + mapName + " for its " +
                    kDirections[direction] + " table");
      }
      if (auto filled =
              // (a new object's map: the kernel's, whatever backend the pins use)
          maps::applyContents(maps::kernelMaps(), bpf_map__fd(map),
                              std::string(mapName) + " of endpoint " + name, {},
                              endpoint.wanted[direction]);
          !filled)
        return fail(filled.error());
    }
  }
  return okStatus();
}

Status LoadTransaction::pinPrograms() {
  for (auto& endpoint : endpoints_) {
    if (endpoint.plan == ProgramPlan::Keep) continue;
    for (const auto& program : endpoint.programs) {
      auto* handle = bpf_object__find_program_by_name(endpoint.object.get(), program.name.c_str());
      auto staged =
          placement_.pinRoot /
          (relativePin(node_->name, endpoint.artifacts->name, program.name) + kStagedSuffix);
      (void)::unlink(staged.c_str());
      if (int result = bpf_program__pin(handle, staged.c_str()); result != 0)
        return fail(maps::libbpfFailure("endpoint " + endpoint.artifacts->name +
                                            ": pinning program at " + staged.string(),
                                        result, log_, staged.string()));
    }
  }
  return okStatus();
}

// ---- 5. Switch -------------------------------------------------------------

// Each step is atomic on its own (a map entry, a tc filter replaced in
// place) and records how to undo it.
Status LoadTransaction::switchOver() {
  auto netns = NetnsGuard::enter(placement_.netns);
  if (!netns) return fail(netns.error());
  netns_.emplace(std::move(*netns));
  // Nothing is switched before the journal names every hook: a journal that
  // cannot be written (a full disk) fails the load with nothing changed.
  if (auto recorded = recordHooks(); !recorded) return fail(recorded.error());
  state_.pending->phase = "switching";
  if (auto written = writePendingLoad(placement_.stateDir, node_->name, *state_.pending); !written)
    return fail("cannot record the load in the state dir: " + written.error());

  // Registered first, so that it runs last in a rollback: the flows judged
  // under the tables being undone are judged again under the restored ones.
  auto epoch = maps_.openPinned(placement_.pinRoot / sharedMaps_[3]);
  if (!epoch) return fail(epoch.error());
  epochMap_ = std::move(*epoch);
  if (epochMap_.valid())
    rollback_.add([this] { return maps::bumpPolicyEpoch(maps_, epochMap_.handle(), epochName_); });

  if (auto ok = updateIpcache(); !ok) return ok;
  if (auto step = reachStep("update-ipcache"); !step) return fail(step.error());
  if (auto ok = updateServices(); !ok) return ok;
  if (auto ok = updateKeptTables(); !ok) return ok;
  if (auto step = reachStep("update-tables"); !step) return fail(step.error());
  if (auto ok = attachPrograms(); !ok) return ok;
  if (auto ok = detachStale(); !ok) return ok;
  if (auto ok = detachInterruptedHooks(); !ok) return ok;
  if (auto step = reachStep("detach-stale"); !step) return fail(step.error());
  // Established flows pass on their conntrack entry until the epoch moves.
  if (epochMap_.valid())
    if (auto bumped = maps::bumpPolicyEpoch(maps_, epochMap_.handle(), epochName_); !bumped)
      return fail(bumped.error());
  if (auto step = reachStep(kStepCommit); !step) return fail(step.error());
  timing_.switched = lap();
  return okStatus();
}

// Each undo is registered before its update: a map write that fails half
// way is undone too (undoing from the new contents skips what never
// changed and tolerates deleting what was not written yet).
Status LoadTransaction::updateIpcache() {
  auto ipcache = maps_.openPinned(placement_.pinRoot / sharedMaps_[0]);
  if (!ipcache) return fail(ipcache.error());
  ipcacheMap_ = std::move(*ipcache);
  if (!ipcacheMap_.valid()) return okStatus();
  auto lengths = maps_.openPinned(placement_.pinRoot / sharedMaps_[2]);
  if (!lengths) return fail(lengths.error());
  ipcacheLengthsMap_ = std::move(*lengths);
  if (!ipcacheLengthsMap_.valid())
    return fail(ipcacheName_ +
                ": its pinned prefix lengths map is missing (polc unload, then load)");
  // Unchanged or a delta: both rest on the map being the one the state
  // describes, not one this load created because its pin went missing.
  const auto& created = state_.pending->pins;
  if ((ipcacheLoaded_ || ipcacheDelta_) &&
      std::find(created.begin(), created.end(), sharedMaps_[0]) != created.end())
    return fail(ipcacheName_ + ": its pin was removed during the load");
  if (ipcacheLoaded_) {
    report_.ipcacheEntries = ipcacheEntries_; // unchanged, not read
    return okStatus();
  }
  if (!ipcacheDelta_) { // else ipcacheBefore_ holds what changes, from the snapshot
    auto live = maps::readIpcache(maps_, ipcacheMap_.handle(), ipcacheName_);
    if (!live) return fail(live.error());
    ipcacheBefore_ = std::move(*live);
  }
  report_.ipcache = tableChange(maps::diffContents(ipcacheBefore_, wantedIpcache_));
  if (auto applied = updateIpcacheInPlace(
          maps_, rollback_, ipcacheMap_.handle(), ipcacheLengthsMap_.handle(), ipcacheName_,
          ipcacheBefore_, wantedIpcache_, ipcacheDelta_ ? &*ipcacheDelta_ : nullptr);
      !applied)
    return fail(applied.error());
  report_.ipcacheEntries = ipcacheEntries_;
  return okStatus();
}

// The node's service maps, written where they differ from the build's. No
// object with services has pinned them: nothing to do.
Status LoadTransaction::updateServices() {
  ServiceMapHandles handles;
  maps::MapHandle* handle[] = {&handles.services, &handles.maglev, &handles.backends};
  const char* names[] = {artifacts::kMapServices, artifacts::kMapMaglev, artifacts::kMapBackends};
  size_t valid = 0;
  for (size_t i = 0; i < serviceMaps_.size(); ++i) {
    auto map = maps_.openPinned(placement_.pinRoot / sharedMaps_[9 + i]);
    if (!map) return fail(map.error());
    serviceMaps_[i] = std::move(*map);
    *handle[i] = serviceMaps_[i].handle();
    valid += serviceMaps_[i].valid() ? 1 : 0;
  }
  // Pins that went away since the services were read (or that this load
  // recreated, unfilled, because they had gone before it wrote its
  // journal): the running programs may hold maps no pin names any more.
  const auto removedDuringLoad = [&] {
    return fail("the service maps of node " + node_->name +
                ": a pin was removed during the load (load again)");
  };
  if (servicesPinnedAtRead_ && valid != serviceMaps_.size()) return removedDuringLoad();
  if (valid == 0) return okStatus();
  if (valid != serviceMaps_.size())
    return fail("the service maps of node " + node_->name +
                " are pinned in part (polc unload, then load)");
  report_.serviceFrontends = serviceFrontends_;
  const auto& created = state_.pending->pins;
  if ((servicesLoaded_ || servicesDelta_) &&
      std::any_of(created.begin(), created.end(), [&](const std::string& pin) {
        return std::find(sharedMaps_.begin() + 9, sharedMaps_.begin() + 12, pin) !=
               sharedMaps_.begin() + 12;
      }))
    return removedDuringLoad();
  if (servicesLoaded_) return okStatus();
  if (servicesDelta_) {
    // A key the delta adds that the map holds already: the new file holds
    // it twice, or the snapshot is not what the map holds. Read both whole.
    const maps::MapContents* contents[][2] = {
        {&servicesBefore_.services, &wantedServices_.services},
        {&servicesBefore_.maglev, &wantedServices_.maglev},
        {&servicesBefore_.backends, &wantedServices_.backends}};
    for (size_t i = 0; i < serviceMaps_.size() && servicesDelta_; ++i) {
      auto adds = addsLiveKey(maps_, *handle[i], names[i], *contents[i][0], *contents[i][1]);
      if (!adds) return fail(adds.error());
      if (*adds)
        if (auto whole = readWholeServices(); !whole) return fail(whole.error());
    }
  }
  if (!servicesDelta_) {
    auto live = readServiceMaps(maps_, handles);
    if (!live) return fail(live.error());
    servicesBefore_ = std::move(*live);
  }
  auto change = serviceMapChange(servicesBefore_, wantedServices_);
  report_.services = {change.added, change.removed, change.changed};
  if (auto applied = updateServiceMaps(maps_, rollback_, handles, servicesBefore_, wantedServices_,
                                       servicesUnion_);
      !applied)
    return fail(applied.error());
  return okStatus();
}

// Endpoints that keep their programs get their new tables in place.
Status LoadTransaction::updateKeptTables() {
  for (auto& endpoint : endpoints_) {
    if (endpoint.plan != ProgramPlan::Keep) continue;
    for (int direction = 0; direction < 2; ++direction) {
      if (endpoint.tableLoaded[direction]) continue;
      if (!endpoint.liveMap[direction].valid()) {
        if (endpoint.wanted[direction].empty()) continue;
        return fail("endpoint " + endpoint.artifacts->name + ": its policy map pin is missing");
      }
      if (auto applied = updateInPlace(maps_, rollback_, endpoint.liveMap[direction].handle(),
                                       endpoint.artifacts->name + " " + kDirections[direction],
                                       endpoint.live[direction], endpoint.wanted[direction]);
          !applied)
        return fail(applied.error());
    }
  }
  return okStatus();
}

// Replaces whatever runs on a hook now (programFd < 0: detaches it),
// remembering how to put it back.
Expected<uint32_t> LoadTransaction::swapFilter(int ifindex, const std::string& interface,
                                               const std::string& hook, int programFd) {
  auto old = queryFilter(ifindex, hook, log_);
  if (!old) return Error{old.error()};
  UniqueFd oldFd;
  if (*old) {
    oldFd.reset(bpf_prog_get_fd_by_id(**old));
    if (!oldFd.valid())
      return Error{interface + " " + hook + ": cannot hold program id " + std::to_string(**old) +
                   ": " + std::strerror(errno)};
  }
  Expected<uint32_t> id = programFd >= 0 ? attachFilter(ifindex, interface, hook, programFd, log_)
                                         : Expected<uint32_t>(0u);
  if (programFd < 0)
    if (auto detached = detachFilter(ifindex, interface, hook, log_); !detached)
      return Error{detached.error()};
  if (!id) return Error{id.error()};
  auto held = std::make_shared<UniqueFd>(std::move(oldFd));
  rollback_.add([this, ifindex, interface, hook, held]() -> Status {
    if (held->valid()) {
      auto restored = attachFilter(ifindex, interface, hook, held->get(), log_);
      if (!restored) return Error{restored.error()};
      return okStatus();
    }
    auto detached = detachFilter(ifindex, interface, hook, log_);
    if (!detached) return Error{detached.error()};
    return okStatus();
  });
  return *id;
}

// Every hook of a new or replaced endpoint runs its new program; kept
// endpoints keep their attachments.
Status LoadTransaction::attachPrograms() {
  std::multimap<std::string, const TcAttachment*> previousByEndpoint;
  for (const auto& old : previous_.attachments) previousByEndpoint.emplace(old.endpoint, &old);
  bool reachedAttach = false;
  std::set<int> createdClsact; // by this load (endpoints may share an interface)
  for (auto& endpoint : endpoints_) {
    const auto& name = endpoint.artifacts->name;
    const auto& interface = endpoint.artifacts->interface;
    if (endpoint.plan == ProgramPlan::Keep) {
      for (auto [it, end] = previousByEndpoint.equal_range(name); it != end; ++it) {
        attachments_.push_back(*it->second);
        hooksNow_.insert({it->second->interface, it->second->hook});
      }
      continue;
    }
    auto created = ensureClsact(endpoint.ifindex, interface, log_);
    if (!created) return fail(created.failure().withContext("endpoint " + name + ": "));
    if (*created)
      rollback_.add([this, ifindex = endpoint.ifindex, interface] {
        return destroyClsact(ifindex, interface, log_);
      });
    if (*created) createdClsact.insert(endpoint.ifindex);
    const bool ours =
        createdClsact.contains(endpoint.ifindex) || qdiscWasOurs(interface, endpoint.ifindex);
    if (ours != endpoint.qdiscOurs) { // made or removed by another since recordHooks
      endpoint.qdiscOurs = ours;
      for (auto& hook : state_.pending->hooks)
        if (hook.interface == interface && hook.ifindex == endpoint.ifindex)
          hook.qdiscCreatedByPolc = ours;
      if (auto written = writePendingLoad(placement_.stateDir, node_->name, *state_.pending);
          !written)
        return fail("cannot record the load in the state dir: " + written.error());
    }
    for (const auto& program : endpoint.programs) {
      auto* handle = bpf_object__find_program_by_name(endpoint.object.get(), program.name.c_str());
      auto id = swapFilter(endpoint.ifindex, interface, program.hook, bpf_program__fd(handle));
      if (!id) return fail(id.failure().withContext("endpoint " + name + ": "));
      attachments_.push_back({name, interface, endpoint.ifindex, program.hook, kTcFilterHandle,
                              kTcFilterPriority, program.name, *id, ours});
      hooksNow_.insert({interface, program.hook});
      report_.attached.push_back({name, interface, program.hook, program.name, *id});
    }
    if (!reachedAttach) {
      reachedAttach = true;
      if (auto step = reachStep("attach"); !step) return fail(step.error());
    }
  }
  if (!reachedAttach)
    if (auto step = reachStep("attach"); !step) return fail(step.error());
  return okStatus();
}

// A clsact qdisc polc created goes at the commit once no filter of this
// revision is on its interface.
void LoadTransaction::removeQdiscIfUnused(const std::string& interface) {
  if (std::none_of(attachments_.begin(), attachments_.end(),
                   [&](const auto& a) { return a.interface == interface; }))
    qdiscsToRemove_.insert(interface);
}

// What an earlier load attached and this one no longer does (an endpoint
// that lost its object or a program, or left the node).
Status LoadTransaction::detachStale() {
  for (const auto& old : previous_.attachments) {
    if (hooksNow_.contains({old.interface, old.hook})) continue;
    auto index = interfaceIndex(old.interface);
    if (!index || *index != old.ifindex) continue; // gone with its interface
    if (auto detached = swapFilter(*index, old.interface, old.hook, -1); !detached)
      return fail(detached.failure());
    if (old.qdiscCreatedByPolc) removeQdiscIfUnused(old.interface);
  }
  return okStatus();
}

// What a killed earlier load attached and neither the committed revision nor
// this one uses (an endpoint only it had). No undo: no committed revision
// ran these filters, so a rollback has nothing to put back; the journal it
// restores keeps naming them.
Status LoadTransaction::detachInterruptedHooks() {
  if (!interrupted_) return okStatus();
  for (const auto& hook : interrupted_->hooks) {
    if (hooksNow_.contains({hook.interface, hook.hook})) continue; // replaced in place
    if (std::any_of(previous_.attachments.begin(), previous_.attachments.end(),
                    [&](const auto& old) {
                      return old.interface == hook.interface && old.ifindex == hook.ifindex &&
                             old.hook == hook.hook;
                    }))
      continue; // the committed revision's: kept or detached by detachStale
    auto index = interfaceIndex(hook.interface);
    if (!index || *index != hook.ifindex) continue; // gone with its interface
    if (auto detached = detachFilter(*index, hook.interface, hook.hook, log_); !detached)
      return fail(detached.failure());
    if (hook.qdiscCreatedByPolc) removeQdiscIfUnused(hook.interface);
  }
  return okStatus();
}

// ---- 6. Commit -------------------------------------------------------------

// The new revision is in force. Staged pins become the live ones (a rename
// replaces a pin in one step); what is gone is removed.
// Counters of interfaces that are no longer the node's endpoints (removed
// from the build, or recreated with another ifindex, as a restarted pod's
// veth is): forgotten once the load is in force, so that a recycled ifindex
// starts from zero and the node's counter map does not fill with the dead.
// Only when the set of interfaces changed: a load's cost stays that of its
// change. Best effort: stale counters are harmless to the datapath.
void LoadTransaction::forgetCountersOfGoneInterfaces() {
  std::set<uint32_t> gone;
  for (const auto& attachment : previous_.attachments) gone.insert(uint32_t(attachment.ifindex));
  for (const auto& attachment : state_.attachments) gone.erase(uint32_t(attachment.ifindex));
  if (gone.empty()) return;
  auto counters =
      maps_.openPinned(placement_.pinRoot / relativePin(node_->name, "", artifacts::kMapCounters));
  if (!counters || !counters->valid()) return;
  (void)maps::forgetInterfaces(maps_, counters->handle(), gone,
                               unsigned(libbpf_num_possible_cpus()));
}

Expected<loader::LoadReport> LoadTransaction::commit() {
  std::string commitErrors = renameStagedPins();
  commitErrors += removeStaleQdiscs();
  recordPins();
  recordEndpoints();
  report_.policyEntries = policyEntries_;
  report_.tablesDiffed = (ipcacheDelta_ ? 1 : 0) + (servicesDelta_ ? 1 : 0);
  for (const auto& endpoint : endpoints_)
    report_.tablesDiffed += endpoint.delta[0] + endpoint.delta[1];
  state_.attachments = std::move(attachments_);
  state_.revision = revision_;
  state_.outDir = state_.pending->outDir;
  state_.loadedUnixNs = startedUnixNs_;
  if (auto written = writeNodeState(placement_.stateDir, state_); !written)
    return Error{"loaded, but could not record the loader state: " + written.error()};
  forgetCountersOfGoneInterfaces();
  if (commitErrors.empty()) removePendingLoad(placement_.stateDir, node_->name);
  keepTableSnapshots();
  timing_.commit = lap();
  report_.milliseconds = timing_;
  if (!commitErrors.empty())
    return Error{
        "revision " + shortRevision(revision_) +
        " is in force, but cleaning up after it failed (run polc load again):" + commitErrors};
  return std::move(report_);
}

// The texts of the tables the maps now hold, for the next load's deltas.
void LoadTransaction::keepTableSnapshots() {
  std::set<std::string> inUse;
  for (const auto& [pin, digest] : state_.tableSha256) inUse.insert(digest);
  auto keep = [&](const std::string& file, const std::string& digest, auto part) {
    if (!inUse.contains(digest) || !snapshotCandidates_.contains(digest)) return;
    if (const std::string* text = verification_->verifiedBytes(file))
      if (std::optional<std::string_view> kept = part(*text))
        keepTableSnapshot(placement_.stateDir, node_->name, digest, *kept);
  };
  const auto entries = [](std::string_view text) { return artifacts::entriesPart(text); };
  keep(node_->ipcache, digestOf(node_->ipcache), entries);
  if (!manifest_.services.empty()) // all of it: a delta compares its tail too
    keep(manifest_.services, digestOf(manifest_.services),
         [](std::string_view text) { return std::optional(text); });
  for (const auto& endpoint : endpoints_)
    for (int direction = 0; direction < 2; ++direction)
      keep(*endpoint.tableFile[direction], digestOf(*endpoint.tableFile[direction]), entries);
  pruneTableSnapshots(placement_.stateDir, node_->name, inUse);
}

// The errors, one per line; empty when all worked.
std::string LoadTransaction::renameStagedPins() {
  std::string errors;
  for (const auto& pin : state_.pending->pins) {
    if (!pin.ends_with(kStagedSuffix)) continue;
    auto staged = placement_.pinRoot / pin;
    auto live = placement_.pinRoot / pin.substr(0, pin.size() - std::strlen(kStagedSuffix));
    std::error_code ec;
    if (!fs::exists(staged, ec)) continue; // a map the object does not have
    if (::rename(staged.c_str(), live.c_str()) != 0)
      errors += "\n  renaming " + staged.string() + ": " + std::strerror(errno);
  }
  return errors;
}

// The errors, one per line; empty when all worked.
std::string LoadTransaction::removeStaleQdiscs() {
  std::string errors;
  for (const auto& interface : qdiscsToRemove_) {
    auto index = interfaceIndex(interface);
    if (!index) continue;
    if (auto destroyed = destroyClsact(*index, interface, log_); !destroyed)
      errors += "\n  " + destroyed.error();
  }
  return errors;
}

// Removes the pins of endpoints and programs that are gone; records the
// pins that exist now and the ipcache's size. The pins are handled sorted
// (as the state records them): thousands of long names with a common
// prefix, compared, hashed and copied, were most of a table-only commit.
void LoadTransaction::recordPins() {
  const auto& nodeName = node_->name;
  // Every pin this revision has, and whether its endpoint kept its programs.
  std::vector<std::pair<std::string, bool>> livePins;
  livePins.reserve(sharedMaps_.size() + 4 * endpoints_.size());
  for (const auto& endpoint : endpoints_) {
    const bool kept = endpoint.plan == ProgramPlan::Keep;
    const auto first = livePins.size();
    for (const auto* map : kPolicyMaps)
      livePins.emplace_back(relativePin(nodeName, endpoint.artifacts->name, map), kept);
    for (const auto& program : endpoint.programs)
      livePins.emplace_back(relativePin(nodeName, endpoint.artifacts->name, program.name), kept);
    std::sort(livePins.begin() + static_cast<std::ptrdiff_t>(first), livePins.end());
  }
  for (const auto& pin : sharedMaps_) livePins.emplace_back(pin, false);
  // Endpoints come sorted by name, so this is nearly always sorted already.
  if (!std::is_sorted(livePins.begin(), livePins.end()))
    std::sort(livePins.begin(), livePins.end());
  // One merge with the recorded pins (sorted, readNodeState): which of
  // this revision's were pinned before, and which recorded ones are stale.
  std::vector<bool> wasPinned(livePins.size(), false);
  std::vector<std::string> stalePins;
  auto live = livePins.begin();
  for (const auto& pin : previous_.pins) {
    while (live != livePins.end() && live->first < pin) ++live;
    if (live != livePins.end() && live->first == pin)
      wasPinned[static_cast<size_t>(live - livePins.begin())] = true;
    else
      stalePins.push_back(pin);
  }
  // (A committed load made no directory it left empty: no sweep of all of them.)
  removePins(placement_.pinRoot, nodeName, stalePins, EndpointDirectories::OfThePins);
  state_.pins.clear();
  state_.pins.reserve(livePins.size());
  state_.mapEntries.clear();
  // Pins of endpoints that kept their programs are as the previous load left
  // them (checked by intactEndpoints); only the others need a look.
  for (size_t i = 0; i < livePins.size(); ++i) {
    auto& [pin, kept] = livePins[i];
    std::error_code ec;
    if ((kept && wasPinned[i]) || fs::exists(placement_.pinRoot / pin, ec))
      state_.pins.push_back(std::move(pin));
  }
  if (ipcacheMap_.valid()) state_.mapEntries[sharedMaps_[0]] = ipcacheEntries_;
  if (serviceMaps_[0].valid() && !manifest_.services.empty())
    state_.mapEntries[sharedMaps_[9]] = serviceFrontends_;
}

// Every endpoint's tables and record in the state, and its line in the
// report; departed endpoints in the report too.
void LoadTransaction::recordEndpoints() {
  const auto& pins = state_.pins; // sorted (recordPins)
  state_.tableSha256.clear();
  state_.endpoints.clear();
  if (ipcacheMap_.valid()) state_.tableSha256[sharedMaps_[0]] = digestOf(node_->ipcache);
  if (serviceMaps_[0].valid() && !manifest_.services.empty())
    state_.tableSha256[sharedMaps_[9]] = digestOf(manifest_.services);
  // Inserted in key order where the names allow (a hint at the end).
  for (auto& endpoint : endpoints_) {
    const auto& name = endpoint.artifacts->name;
    for (int direction : {1, 0}) { // polc_policy_eg before polc_policy_in
      auto pin = relativePin(node_->name, name, kPolicyMaps[direction]);
      if (!std::binary_search(pins.begin(), pins.end(), pin)) continue;
      state_.mapEntries.emplace_hint(state_.mapEntries.end(), pin, endpoint.entries(direction));
      state_.tableSha256.emplace_hint(state_.tableSha256.end(), std::move(pin),
                                      std::move(endpoint.tableSha256[direction]));
    }
    state_.endpoints.emplace_hint(state_.endpoints.end(), name, std::move(endpoint.record));
    endpoint.report.endpoint = name;
    endpoint.report.interface = endpoint.artifacts->interface;
    endpoint.report.entries = endpoint.entries(0) + endpoint.entries(1);
    switch (endpoint.plan) {
    case ProgramPlan::Attach:
      endpoint.report.action = EndpointAction::Attached;
      break;
    case ProgramPlan::Replace:
      endpoint.report.action = EndpointAction::Replaced;
      break;
    case ProgramPlan::Keep:
      endpoint.report.action = endpoint.report.ingress.none() && endpoint.report.egress.none()
                                   ? EndpointAction::Unchanged
                                   : EndpointAction::TablesUpdated;
      break;
    }
    report_.endpoints.push_back(endpoint.report);
  }
  for (const auto& name : plan_.departing) {
    std::string interface;
    for (const auto& old : previous_.attachments)
      if (old.endpoint == name) interface = old.interface;
    report_.endpoints.push_back({name, interface, EndpointAction::Detached, {}, {}, 0});
  }
}

} // namespace polc::runtime
