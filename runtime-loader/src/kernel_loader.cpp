// The Loader on a real kernel: libbpf for objects and maps, tc clsact hooks
// for attachment, bpffs pins for maps shared across reloads.
//
// A load is a transaction (docs/cli.md, "Reloads are transactions"):
//   1. read and verify the artifacts, parse every table    (no kernel contact)
//   2. resolve every interface; see what the kernel runs   (read-only)
//   3. journal: record the load and its staged pins        (state dir only)
//   4. prepare: load new objects with fresh policy maps, fill them, pin
//      programs and maps beside the live pins              (nothing switched)
//   5. switch: ipcache, in-place tables, tc filters replaced in place, stale
//      filters detached; every step records its undo
//   6. commit: staged pins renamed over the live ones, state written
// A failure in 3-5 undoes the switch and removes the staged pins: the
// previous revision stays in force. A killed load leaves its journal: status
// reports it and the next load removes its staged pins.
#include "polc/loader/loader.h"

#include "bpffs.h"
#include "libbpf_util.h"
#include "load_plan.h"
#include "load_steps.h"
#include "map_sync.h"
#include "netns_guard.h"
#include "node_state.h"
#include "state_lock.h"
#include "status.h"
#include "tc.h"
#include "tc_query.h"
#include "unique_fd.h"

#include "polc/artifacts/digest.h"
#include "polc/artifacts/manifest.h"
#include "polc/artifacts/tables.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include <unistd.h>

namespace polc::loader {

namespace fs = std::filesystem;
using namespace polc::runtime;

namespace {

// Names end up in paths (pins, state); refuse anything that could escape.
Status checkPathComponent(const std::string& what, const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos)
    return Error{what + " name \"" + name + "\" cannot be used as a path component"};
  return okStatus();
}

// `sha256`: the manifest's digest of the file, checked again on the bytes
// parsed (the file may have changed since verifyManifest read it).
template <typename T>
Expected<T> readJsonFile(const fs::path& file, const std::string& sha256, auto&& fromJson) {
  auto text = polc::readFile(file);
  if (!text) return Error{text.error()};
  if (artifacts::sha256Hex(*text) != sha256)
    return Error{file.string() + ": changed since its digest was verified"};
  auto parsed = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return Error{file.string() + ": not valid JSON"};
  auto value = fromJson(parsed); // reports malformed content as an Error, never throws
  if (!value) return Error{file.string() + ": " + value.error()};
  return std::move(value).value();
}

struct ProgramToAttach {
  std::string name; // program name in the object
  std::string hook;
};

constexpr const char* kPolicyMaps[2] = {artifacts::kMapPolicyIngress, artifacts::kMapPolicyEgress};
constexpr const char* kDirections[2] = {"ingress", "egress"};

// One endpoint's part of the load, from the artifacts to the kernel.
struct EndpointLoad {
  const artifacts::EndpointArtifacts* artifacts = nullptr;
  std::string tableFile[2];   // [ingress, egress], relative to the build
  std::string tableSha256[2]; // their digests in the manifest
  // The live policy map holds exactly this table already (see
  // tableKnownLoaded): neither the table nor the map is read, nothing changes.
  bool tableLoaded[2] = {false, false};
  uint64_t loadedEntries[2] = {0, 0}; // what it holds then, as recorded
  std::vector<ProgramToAttach> programs;
  int ifindex = 0;
  EndpointRecord record;
  ProgramPlan plan = ProgramPlan::Attach;
  BpfObjectPtr object;   // new programs (Attach, Replace)
  MapContents wanted[2]; // policy maps [ingress, egress] of the new revision
  MapContents live[2];   // what the live policy maps hold
  UniqueFd liveFd[2];    // the live policy maps, if pinned
  EndpointReport report;

  uint64_t entries(int direction) const {
    return tableLoaded[direction] ? loadedEntries[direction] : wanted[direction].size();
  }
};

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

std::string relativePin(const std::string& node, const std::string& endpoint,
                        const std::string& name) {
  return endpoint.empty() ? node + "/" + name : node + "/" + endpoint + "/" + name;
}

// A pin recorded in a state file must stay inside <pinRoot>/<node>.
bool pinBelongsToNode(const std::string& pin, const std::string& node) {
  if (!pin.starts_with(node + "/")) return false;
  for (const auto& part : fs::path(pin))
    if (part == ".." || part == ".") return false;
  return !fs::path(pin).is_absolute();
}

enum class EndpointDirectories {
  OfThePins, // only the directories of the removed pins
  All,       // every empty one (a failed load may have made some and pinned nothing there)
};

// Removes the pins and then every directory of theirs that became empty,
// up to and including <pinRoot>/<node>, then pinRoot itself if empty.
// Returns how many pins were removed.
size_t removePins(const fs::path& pinRoot, const std::string& node,
                  const std::vector<std::string>& pins,
                  EndpointDirectories sweep = EndpointDirectories::All) {
  size_t removed = 0;
  std::set<fs::path, std::greater<>> directories; // deepest first
  for (const auto& pin : pins) {
    if (!pinBelongsToNode(pin, node)) continue;
    auto path = pinRoot / pin;
    if (::unlink(path.c_str()) == 0) ++removed;
    for (auto dir = path.parent_path();
         dir != pinRoot && dir.string().size() > pinRoot.string().size(); dir = dir.parent_path())
      directories.insert(dir);
  }
  // Directories made for an endpoint whose load failed before it pinned anything.
  std::error_code ec;
  if (sweep == EndpointDirectories::All)
    for (fs::directory_iterator it(pinRoot / node, ec), end; !ec && it != end; it.increment(ec))
      if (it->is_directory(ec)) directories.insert(it->path());
  directories.insert(pinRoot / node);
  for (const auto& dir : directories) (void)::rmdir(dir.c_str()); // fails while not empty: fine
  (void)::rmdir(pinRoot.c_str());
  return removed;
}

class KernelLoader final : public Loader {
public:
  Expected<LoadReport> load(const LoadRequest& request) override;
  Expected<UnloadReport> unload(const UnloadRequest& request) override;
  Expected<StatusReport> status(const StatusRequest& request) override {
    return kernelStatus(request);
  }

private:
  Expected<UnloadReport> unloadNode(const Placement& placement, const std::string& node);
};

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

// The suffix of a staged pin: the new revision's map or program, pinned
// beside the live one until the load commits (bpffs refuses '.' in names).
constexpr const char* kStagedSuffix = "-next";

// Undo actions of the switch, run newest first when a later step fails.
class Rollback {
public:
  void add(std::function<Status()> undo) { undo_.push_back(std::move(undo)); }
  // The errors of undo actions that failed, one per line; empty when all worked.
  std::string run() {
    std::string errors;
    for (auto it = undo_.rbegin(); it != undo_.rend(); ++it)
      if (auto undone = (*it)(); !undone) errors += "\n  " + undone.error();
    undo_.clear();
    return errors;
  }

private:
  std::vector<std::function<Status()>> undo_;
};

UniqueFd openPinned(const fs::path& path) {
  return UniqueFd(bpf_obj_get(path.c_str()));
}

Expected<MapContents> readPolicyMap(int fd, const std::string& name) {
  return readLpmMap(fd, name, sizeof(polc_policy_key), sizeof(polc_policy_value));
}

// The endpoints whose hooks run exactly the recorded programs and whose
// recorded policy map pins exist: only their programs can be kept.
Expected<std::set<std::string>> intactEndpoints(const NodeState& state, const fs::path& pinRoot,
                                                const std::map<std::string, int>& interfaces) {
  std::set<std::string> intact, broken;
  if (state.attachments.empty()) return intact;
  auto filters = TcFilterQuery::open();
  if (!filters) return Error{filters.error()};
  const std::set<std::string> pins(state.pins.begin(), state.pins.end());
  // What every hook runs, asked in batches: a query per hook would dominate
  // a load that changes one table on a node of thousands of endpoints.
  std::vector<TcFilterQuery::Hook> hooks;
  for (const auto& attachment : state.attachments)
    hooks.push_back({attachment.ifindex, attachment.hook});
  auto attached = filters->programIds(hooks);
  if (!attached) return Error{attached.error()};
  for (size_t i = 0; i < state.attachments.size(); ++i) {
    const auto& attachment = state.attachments[i];
    auto index = interfaces.find(attachment.interface);
    // The same interface (not one recreated under its name) runs the same program.
    bool same = index != interfaces.end() && index->second == attachment.ifindex &&
                (*attached)[i] && *(*attached)[i] == attachment.programId;
    // Its program pin too: the commit keeps an intact endpoint's pins unlooked.
    std::error_code ec;
    auto programPin = relativePin(state.node, attachment.endpoint, attachment.program);
    same = same && (!pins.contains(programPin) || fs::exists(pinRoot / programPin, ec));
    (same ? intact : broken).insert(attachment.endpoint);
  }
  for (const auto& name : broken) intact.erase(name);
  for (auto it = intact.begin(); it != intact.end();) {
    bool pinsThere = true;
    for (const auto* map : {artifacts::kMapPolicyIngress, artifacts::kMapPolicyEgress}) {
      auto pin = relativePin(state.node, *it, map);
      std::error_code ec;
      if (pins.contains(pin) && !fs::exists(pinRoot / pin, ec)) pinsThere = false;
    }
    it = pinsThere ? std::next(it) : intact.erase(it);
  }
  return intact;
}

// How many entries the policy map at `pin` holds when it is known to hold
// the table of digest `sha256` already, so that neither needs reading: its
// programs stay (their hooks and pins were just checked), the last load
// that committed filled it from a table of that digest, and no load was
// interrupted since (a killed or unrolled load may have written it half
// way). Only polc writes its pinned maps, under the state lock.
std::optional<uint64_t> tableKnownLoaded(const NodeState& previous, ProgramPlan plan,
                                         const std::string& pin, const std::string& sha256) {
  if (plan != ProgramPlan::Keep || previous.pending) return std::nullopt;
  auto recorded = previous.tableSha256.find(pin);
  auto entries = previous.mapEntries.find(pin);
  if (recorded == previous.tableSha256.end() || recorded->second != sha256 ||
      entries == previous.mapEntries.end())
    return std::nullopt;
  return entries->second;
}

Expected<LoadReport> KernelLoader::load(const LoadRequest& request) {
  const auto& placement = request.placement;
  // First: the state read below must still be true when it is written back.
  // (Also before the log capture: libbpf's print hook is process-global.)
  auto lock = StateLock::acquire(placement.stateDir, request.lockTimeout);
  if (!lock) return Error{"load: " + lock.error()};
  LibbpfLogCapture log;
  // Milliseconds since the previous lap: the report's phase timings.
  auto lap = [last = std::chrono::steady_clock::now()]() mutable {
    auto now = std::chrono::steady_clock::now();
    double milliseconds = std::chrono::duration<double, std::milli>(now - last).count();
    last = now;
    return milliseconds;
  };
  LoadReport::Timing timing;

  // 1. Artifacts: refuse tampered or incomplete output before any kernel
  // contact. Hashing every file runs beside the reading below (which
  // needs none of it: the files it parses are hashed again as they are
  // read), and its verdict comes first.
  auto manifest = artifacts::readManifest(request.outDir);
  if (!manifest) return Error{manifest.error()};
  auto verifying = std::async(std::launch::async, [&outDir = request.outDir, &manifest] {
    return artifacts::verifyManifest(outDir, *manifest);
  });
  std::optional<Status> verification;
  auto verified = [&]() -> const Status& {
    if (!verification) verification = verifying.get();
    return *verification;
  };
  // An error found while the hashing runs: the hashing's own comes first.
  auto readError = [&](const std::string& message) -> Error {
    if (const auto& ok = verified(); !ok) return Error{ok.error()};
    return Error{message};
  };
  // A file's digest in the manifest; "" when it has none (which the
  // verification reports).
  auto digestOf = [&](const std::string& file) {
    auto digest = manifest->files.find(file);
    return digest == manifest->files.end() ? std::string() : digest->second;
  };
  // The manifest lists every file's digest: its own digest names the build.
  auto revision = artifacts::sha256OfFile(request.outDir / "manifest.json");
  if (!revision) return readError(revision.error());
  auto chosen = chooseNode(*manifest, request.node);
  if (!chosen) return readError(chosen.error());
  const auto& node = **chosen;
  if (auto ok = checkPathComponent("node", node.name); !ok) return readError(ok.error());

  auto ipcache =
      readJsonFile<artifacts::Ipcache>(request.outDir / node.ipcache, digestOf(node.ipcache),
                                       [](const auto& j) { return artifacts::ipcacheFromJson(j); });
  if (!ipcache) return readError(ipcache.error());
  auto ipcacheEntries = toIpcacheMapEntries(*ipcache);
  if (!ipcacheEntries) return readError(node.ipcache + ": " + ipcacheEntries.error());
  const std::string ipcacheName = std::string(artifacts::kMapIpcache) + " of node " + node.name;
  auto wantedIpcache = toMapContents(ipcacheName, *ipcacheEntries);
  if (!wantedIpcache) return readError(wantedIpcache.error());

  // The tables are parsed once the plan is known (below): only those the
  // live maps do not hold already.
  std::vector<EndpointLoad> endpoints;
  for (const auto& endpoint : node.endpoints) {
    if (!endpoint.object) continue; // nothing to enforce there
    if (auto ok = checkPathComponent("endpoint", endpoint.name); !ok) return readError(ok.error());
    EndpointLoad load;
    load.artifacts = &endpoint;
    load.programs = programsOf(endpoint);
    load.tableFile[0] = endpoint.ingressTable;
    load.tableFile[1] = endpoint.egressTable;
    for (int direction = 0; direction < 2; ++direction)
      load.tableSha256[direction] = digestOf(load.tableFile[direction]);
    load.record.objectSha256 = digestOf(*endpoint.object);
    load.record.identity = endpoint.identity;
    load.record.interface = endpoint.interface;
    for (const auto& program : load.programs) load.record.programs.push_back(program.name);
    std::sort(load.record.programs.begin(), load.record.programs.end());
    endpoints.push_back(std::move(load));
  }

  auto stateDir = placement.stateDir;
  auto previousRead = readNodeState(stateFile(stateDir, node.name));
  if (!previousRead) return readError(previousRead.error());
  if (*previousRead && ((*previousRead)->pinRoot != placement.pinRoot.string() ||
                        (*previousRead)->netns != placement.netns))
    return readError("node " + node.name + " is loaded with pin root " + (*previousRead)->pinRoot +
                     " and netns \"" + (*previousRead)->netns +
                     "\"; unload it before changing either");
  if (const auto& ok = verified(); !ok) return Error{ok.error()};
  if (auto step = reachStep("verify"); !step) return Error{step.error()};
  timing.read = lap();

  // 2. Interfaces: all must exist before anything is loaded. Also what the
  // kernel really runs, so that only intact endpoints keep their programs.
  if (!placement.netns.empty() && !netnsExists(placement.netns))
    return Error{"network namespace \"" + placement.netns + "\" does not exist (" + kNetnsDir +
                 ")"};
  NodeState previous = *previousRead ? **previousRead : NodeState{};
  std::set<std::string> intact;
  {
    auto netns = NetnsGuard::enter(placement.netns);
    if (!netns) return Error{netns.error()};
    std::set<std::string> names;
    for (const auto& endpoint : endpoints) names.insert(endpoint.artifacts->interface);
    for (const auto& attachment : previous.attachments) names.insert(attachment.interface);
    const auto interfaces = interfaceIndexes(names);
    for (auto& endpoint : endpoints) {
      auto index = interfaces.find(endpoint.artifacts->interface);
      if (index == interfaces.end())
        return Error{"endpoint " + endpoint.artifacts->name + ": interface " +
                     endpoint.artifacts->interface + " not found" +
                     (placement.netns.empty() ? "" : " in network namespace " + placement.netns)};
      endpoint.ifindex = index->second;
      endpoint.record.ifindex = index->second;
    }
    auto checked = intactEndpoints(previous, placement.pinRoot, interfaces);
    if (!checked) return Error{"checking what the hooks run: " + checked.error()};
    intact = std::move(*checked);
  }
  if (auto step = reachStep("interfaces"); !step) return Error{step.error()};

  std::vector<std::pair<std::string, EndpointRecord>> wanted;
  for (const auto& endpoint : endpoints)
    wanted.emplace_back(endpoint.artifacts->name, endpoint.record);
  auto plan = planLoad(previous, wanted, intact);
  for (size_t i = 0; i < endpoints.size(); ++i) endpoints[i].plan = plan.endpoints[i].programs;

  // The tables: those the live maps hold already are known; the others are
  // parsed (still no kernel change: a malformed table stops the load here).
  for (auto& endpoint : endpoints) {
    for (int direction = 0; direction < 2; ++direction) {
      const auto pin = relativePin(node.name, endpoint.artifacts->name, kPolicyMaps[direction]);
      if (auto entries =
              tableKnownLoaded(previous, endpoint.plan, pin, endpoint.tableSha256[direction])) {
        endpoint.tableLoaded[direction] = true;
        endpoint.loadedEntries[direction] = *entries;
        continue;
      }
      auto table = readJsonFile<artifacts::PolicyTable>(
          request.outDir / endpoint.tableFile[direction], endpoint.tableSha256[direction],
          [](const auto& j) { return artifacts::policyTableFromJson(j); });
      if (!table) return Error{table.error()};
      auto contents = toMapContents(endpoint.artifacts->name + " " + kDirections[direction],
                                    toPolicyMapEntries(*table));
      if (!contents) return Error{contents.error()};
      endpoint.wanted[direction] = std::move(*contents);
    }
  }

  // 3. The journal: before the first kernel change, record which staged pins
  // this load creates, so that a killed load can be cleaned up. A killed
  // earlier load's staged pins go first.
  if (auto mounted = ensureBpffs(placement.pinRoot); !mounted) return Error{mounted.error()};
  if (previous.pending) {
    removePins(placement.pinRoot, node.name, previous.pending->pins);
    previous.pending.reset();
  }
  const auto nodePins = placement.pinRoot / node.name;
  const std::string sharedMaps[] = {relativePin(node.name, "", artifacts::kMapIpcache),
                                    relativePin(node.name, "", artifacts::kMapConntrack)};
  NodeState state = previous;
  state.node = node.name;
  state.netns = placement.netns;
  state.pinRoot = placement.pinRoot.string();
  std::error_code absoluteError;
  PendingLoad pending{*revision,
                      fs::absolute(request.outDir, absoluteError).lexically_normal().string(),
                      "preparing",
                      {}};
  std::vector<std::string> createdSharedPins; // shared maps this load creates
  for (const auto& pin : sharedMaps) {
    std::error_code ec;
    if (!fs::exists(placement.pinRoot / pin, ec)) createdSharedPins.push_back(pin);
  }
  for (const auto& endpoint : endpoints) {
    if (endpoint.plan == ProgramPlan::Keep) continue;
    const auto& name = endpoint.artifacts->name;
    for (const auto* map : {artifacts::kMapPolicyIngress, artifacts::kMapPolicyEgress})
      pending.pins.push_back(relativePin(node.name, name, map) + kStagedSuffix);
    for (const auto& program : endpoint.programs)
      pending.pins.push_back(relativePin(node.name, name, program.name) + kStagedSuffix);
  }
  pending.pins.insert(pending.pins.end(), createdSharedPins.begin(), createdSharedPins.end());
  state.pending = pending;
  if (!*previousRead) // so that status and unload find the node even if the load is killed
    if (auto written = writeNodeState(stateDir, state); !written)
      return Error{"cannot record the load in the state dir: " + written.error()};
  if (auto written = writePendingLoad(stateDir, node.name, pending); !written) {
    if (!*previousRead) removeStateFile(stateDir, node.name);
    return Error{"cannot record the load in the state dir: " + written.error()};
  }

  // From here on a failure restores the previous revision: the switch's undo
  // actions, then the staged pins and the journal (the state file was not
  // touched: it still describes the previous revision).
  Rollback rollback;
  auto fail = [&](const std::string& message) -> Error {
    std::string undoErrors = rollback.run();
    removePins(placement.pinRoot, node.name, state.pending->pins);
    // The state file still describes the previous revision: only the journal
    // goes, unless undoing failed: then the maps may hold neither revision,
    // and the journal tells the next load (and status) not to trust the state.
    if (undoErrors.empty() || !*previousRead) removePendingLoad(stateDir, node.name);
    if (!*previousRead) removeStateFile(stateDir, node.name);
    std::string text =
        "load failed, " +
        (previous.revision.empty()
             ? std::string("nothing was loaded")
             : "the previous revision " + shortRevision(previous.revision) + " is still in force") +
        ": " + message;
    if (!undoErrors.empty())
      text += "\nrolling back also failed (run polc load again or polc unload):" + undoErrors;
    return Error{text};
  };
  if (auto step = reachStep("journal"); !step) return fail(step.error());

  // 4. Prepare: load every new object with fresh policy maps (the shared
  // ipcache and conntrack are reused), fill them, pin beside the live pins.
  // Nothing that enforces policy changes yet.
  LoadReport report;
  report.node = node.name;
  report.revision = *revision;
  report.previousRevision = previous.revision;
  bool reachedLoad = false;
  for (auto& endpoint : endpoints) {
    const auto& name = endpoint.artifacts->name;
    const auto endpointPins = nodePins / name;
    for (int direction = 0; direction < 2; ++direction) {
      if (endpoint.tableLoaded[direction]) continue; // holds what it should
      const char* mapName = kPolicyMaps[direction];
      // What the endpoint enforces now, for the report (and Keep's update).
      endpoint.liveFd[direction] =
          openPinned(placement.pinRoot / relativePin(node.name, name, mapName));
      if (endpoint.liveFd[direction].valid()) {
        auto live =
            readPolicyMap(endpoint.liveFd[direction].get(), std::string(mapName) + " of " + name);
        if (!live) return fail(live.error());
        endpoint.live[direction] = std::move(*live);
      }
    }
    if (endpoint.plan == ProgramPlan::Keep) continue;

    const auto objectPath = request.outDir / *endpoint.artifacts->object;
    std::error_code ec;
    fs::create_directories(endpointPins, ec);
    if (ec)
      return fail("cannot create pin directory " + endpointPins.string() + ": " + ec.message());
    BpfObjectPtr object(bpf_object__open_file(objectPath.c_str(), nullptr));
    if (!object)
      return fail(
          libbpfError("endpoint " + name + ": opening " + objectPath.string(), -errno, log));
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
    auto identitySet = setReadOnlyConfig(object.get(), artifacts::kConfigEndpointIdentity,
                                         endpoint.artifacts->identity);
    if (!identitySet)
      return fail("endpoint " + name + ": object " + objectPath.string() + ": " +
                  identitySet.error());
    for (const auto* mapName : {artifacts::kMapIpcache, artifacts::kMapConntrack,
                                artifacts::kMapPolicyIngress, artifacts::kMapPolicyEgress}) {
      auto* map = bpf_object__find_map_by_name(object.get(), mapName);
      if (!map) continue; // a specialized program may not use every map
      bool shared = mapName == artifacts::kMapIpcache || mapName == artifacts::kMapConntrack;
      auto path =
          placement.pinRoot / (shared ? relativePin(node.name, "", mapName)
                                      : relativePin(node.name, name, mapName) + kStagedSuffix);
      if (!shared) (void)::unlink(path.c_str()); // fresh maps for the new programs
      if (int result = bpf_map__set_pin_path(map, path.c_str()); result != 0)
        return fail(libbpfError("endpoint " + name + ": map " + mapName, result, log));
    }
    if (int result = bpf_object__load(object.get()); result != 0)
      return fail(
          libbpfError("endpoint " + name + ": loading " + objectPath.string(), result, log));
    endpoint.object = std::move(object);
    if (!reachedLoad) {
      reachedLoad = true;
      if (auto step = reachStep("load-objects"); !step) return fail(step.error());
    }
  }

  size_t policyEntries = 0;
  for (auto& endpoint : endpoints) {
    const auto& name = endpoint.artifacts->name;
    for (int direction = 0; direction < 2; ++direction) {
      const auto* mapName = kPolicyMaps[direction];
      policyEntries += endpoint.entries(direction);
      if (endpoint.tableLoaded[direction]) continue; // unchanged: the report's change is none
      auto& change = direction == 0 ? endpoint.report.ingress : endpoint.report.egress;
      change = diffContents(endpoint.live[direction], endpoint.wanted[direction]);
      if (endpoint.plan == ProgramPlan::Keep) continue;
      auto* map = bpf_object__find_map_by_name(endpoint.object.get(), mapName);
      if (!map) {
        if (endpoint.wanted[direction].empty()) continue;
        return fail("endpoint " + name + ": object has no map " + mapName + " for its " +
                    kDirections[direction] + " table");
      }
      if (auto filled =
              applyContents(bpf_map__fd(map), std::string(mapName) + " of endpoint " + name, {},
                            endpoint.wanted[direction]);
          !filled)
        return fail(filled.error());
    }
  }
  if (auto step = reachStep("fill-tables"); !step) return fail(step.error());

  for (auto& endpoint : endpoints) {
    if (endpoint.plan == ProgramPlan::Keep) continue;
    for (const auto& program : endpoint.programs) {
      auto* handle = bpf_object__find_program_by_name(endpoint.object.get(), program.name.c_str());
      auto staged =
          placement.pinRoot /
          (relativePin(node.name, endpoint.artifacts->name, program.name) + kStagedSuffix);
      (void)::unlink(staged.c_str());
      if (int result = bpf_program__pin(handle, staged.c_str()); result != 0)
        return fail(libbpfError("endpoint " + endpoint.artifacts->name + ": pinning program at " +
                                    staged.string(),
                                result, log));
    }
  }
  if (auto step = reachStep("pin-programs"); !step) return fail(step.error());
  timing.prepare = lap();

  // 5. Switch. Each step is atomic on its own (a map entry, a tc filter
  // replaced in place) and records how to undo it.
  state.pending->phase = "switching";
  if (auto written = writePendingLoad(stateDir, node.name, *state.pending); !written)
    return fail("cannot record the load in the state dir: " + written.error());
  auto netns = NetnsGuard::enter(placement.netns);
  if (!netns) return fail(netns.error());

  UniqueFd ipcacheFd = openPinned(placement.pinRoot / sharedMaps[0]);
  // Each undo is registered before its update: a map write that fails half
  // way is undone too (undoing from the new contents skips what never
  // changed and tolerates deleting what was not written yet).
  MapContents ipcacheBefore;
  if (ipcacheFd.valid()) {
    auto live = readLpmMap(ipcacheFd.get(), ipcacheName, sizeof(polc_ipcache_key),
                           sizeof(polc_ipcache_value));
    if (!live) return fail(live.error());
    ipcacheBefore = std::move(*live);
    report.ipcache = diffContents(ipcacheBefore, *wantedIpcache);
    rollback.add(
        [&] { return applyContents(ipcacheFd.get(), ipcacheName, *wantedIpcache, ipcacheBefore); });
    if (auto applied = applyContents(ipcacheFd.get(), ipcacheName, ipcacheBefore, *wantedIpcache);
        !applied)
      return fail(applied.error());
    report.ipcacheEntries = wantedIpcache->size();
  }
  if (auto step = reachStep("update-ipcache"); !step) return fail(step.error());

  for (auto& endpoint : endpoints) {
    if (endpoint.plan != ProgramPlan::Keep) continue;
    for (int direction = 0; direction < 2; ++direction) {
      if (endpoint.tableLoaded[direction]) continue;
      if (!endpoint.liveFd[direction].valid()) {
        if (endpoint.wanted[direction].empty()) continue;
        return fail("endpoint " + endpoint.artifacts->name + ": its policy map pin is missing");
      }
      const int fd = endpoint.liveFd[direction].get();
      const auto mapName = endpoint.artifacts->name + " " + kDirections[direction];
      const auto& before = endpoint.live[direction];
      const auto& after = endpoint.wanted[direction];
      rollback.add(
          [fd, mapName, &before, &after] { return applyContents(fd, mapName, after, before); });
      if (auto applied = applyContents(fd, mapName, before, after); !applied)
        return fail(applied.error());
    }
  }
  if (auto step = reachStep("update-tables"); !step) return fail(step.error());

  // Replaces whatever runs on a hook now, remembering how to put it back.
  auto swapFilter = [&](int ifindex, const std::string& interface, const std::string& hook,
                        int programFd) -> Expected<uint32_t> {
    auto old = queryFilter(ifindex, hook, log);
    if (!old) return Error{old.error()};
    UniqueFd oldFd;
    if (*old) {
      oldFd.reset(bpf_prog_get_fd_by_id(**old));
      if (!oldFd.valid())
        return Error{interface + " " + hook + ": cannot hold program id " + std::to_string(**old) +
                     ": " + std::strerror(errno)};
    }
    Expected<uint32_t> id = programFd >= 0 ? attachFilter(ifindex, interface, hook, programFd, log)
                                           : Expected<uint32_t>(0u);
    if (programFd < 0)
      if (auto detached = detachFilter(ifindex, interface, hook, log); !detached)
        return Error{detached.error()};
    if (!id) return Error{id.error()};
    auto held = std::make_shared<UniqueFd>(std::move(oldFd));
    rollback.add([&, ifindex, interface, hook, held]() -> Status {
      if (held->valid()) {
        auto restored = attachFilter(ifindex, interface, hook, held->get(), log);
        if (!restored) return Error{restored.error()};
        return okStatus();
      }
      auto detached = detachFilter(ifindex, interface, hook, log);
      if (!detached) return Error{detached.error()};
      return okStatus();
    });
    return *id;
  };

  std::multimap<std::string, const TcAttachment*> previousByEndpoint;
  for (const auto& old : previous.attachments) previousByEndpoint.emplace(old.endpoint, &old);
  std::vector<TcAttachment> attachments;
  std::set<std::pair<std::string, std::string>> hooksNow; // (interface, hook)
  bool reachedAttach = false;
  for (auto& endpoint : endpoints) {
    const auto& name = endpoint.artifacts->name;
    const auto& interface = endpoint.artifacts->interface;
    if (endpoint.plan == ProgramPlan::Keep) {
      for (auto [it, end] = previousByEndpoint.equal_range(name); it != end; ++it) {
        attachments.push_back(*it->second);
        hooksNow.insert({it->second->interface, it->second->hook});
      }
      continue;
    }
    auto created = ensureClsact(endpoint.ifindex, interface, log);
    if (!created) return fail("endpoint " + name + ": " + created.error());
    if (*created)
      rollback.add([&, ifindex = endpoint.ifindex, interface] {
        return destroyClsact(ifindex, interface, log);
      });
    // The qdisc stays ours across reloads if an earlier load created it.
    bool ours = *created;
    for (const auto& old : previous.attachments)
      if (old.interface == interface && old.ifindex == endpoint.ifindex && old.qdiscCreatedByPolc)
        ours = true;
    for (const auto& program : endpoint.programs) {
      auto* handle = bpf_object__find_program_by_name(endpoint.object.get(), program.name.c_str());
      auto id = swapFilter(endpoint.ifindex, interface, program.hook, bpf_program__fd(handle));
      if (!id) return fail("endpoint " + name + ": " + id.error());
      attachments.push_back({name, interface, endpoint.ifindex, program.hook, kTcFilterHandle,
                             kTcFilterPriority, program.name, *id, ours});
      hooksNow.insert({interface, program.hook});
      report.attached.push_back({name, interface, program.hook, program.name, *id});
    }
    if (!reachedAttach) {
      reachedAttach = true;
      if (auto step = reachStep("attach"); !step) return fail(step.error());
    }
  }
  if (!reachedAttach)
    if (auto step = reachStep("attach"); !step) return fail(step.error());

  // What an earlier load attached and this one no longer does (an endpoint
  // that lost its object or a program, or left the node).
  std::set<std::string> qdiscsToRemove;
  for (const auto& old : previous.attachments) {
    if (hooksNow.contains({old.interface, old.hook})) continue;
    auto index = interfaceIndex(old.interface);
    if (!index || *index != old.ifindex) continue; // gone with its interface
    if (auto detached = swapFilter(*index, old.interface, old.hook, -1); !detached)
      return fail(detached.error());
    bool interfaceStillUsed =
        std::any_of(attachments.begin(), attachments.end(),
                    [&](const auto& a) { return a.interface == old.interface; });
    if (old.qdiscCreatedByPolc && !interfaceStillUsed) qdiscsToRemove.insert(old.interface);
  }
  if (auto step = reachStep("detach-stale"); !step) return fail(step.error());
  if (auto step = reachStep(kStepCommit); !step) return fail(step.error());
  timing.switched = lap();

  // 6. Commit: the new revision is in force. Staged pins become the live
  // ones (a rename replaces a pin in one step); what is gone is removed.
  std::string commitErrors;
  for (const auto& pin : state.pending->pins) {
    if (!pin.ends_with(kStagedSuffix)) continue;
    auto staged = placement.pinRoot / pin;
    auto live = placement.pinRoot / pin.substr(0, pin.size() - std::strlen(kStagedSuffix));
    std::error_code ec;
    if (!fs::exists(staged, ec)) continue; // a map the object does not have
    if (::rename(staged.c_str(), live.c_str()) != 0)
      commitErrors += "\n  renaming " + staged.string() + ": " + std::strerror(errno);
  }
  for (const auto& interface : qdiscsToRemove) {
    auto index = interfaceIndex(interface);
    if (!index) continue;
    if (auto destroyed = destroyClsact(*index, interface, log); !destroyed)
      commitErrors += "\n  " + destroyed.error();
  }

  // Pins of endpoints and programs that are gone; the pins that exist now.
  std::set<std::string> livePins(std::begin(sharedMaps), std::end(sharedMaps));
  for (const auto& endpoint : endpoints) {
    for (const auto* map : {artifacts::kMapPolicyIngress, artifacts::kMapPolicyEgress})
      livePins.insert(relativePin(node.name, endpoint.artifacts->name, map));
    for (const auto& program : endpoint.programs)
      livePins.insert(relativePin(node.name, endpoint.artifacts->name, program.name));
  }
  std::vector<std::string> stalePins;
  for (const auto& pin : previous.pins)
    if (!livePins.contains(pin)) stalePins.push_back(pin);
  // (A committed load made no directory it left empty: no sweep of all of them.)
  removePins(placement.pinRoot, node.name, stalePins, EndpointDirectories::OfThePins);
  state.pins.clear();
  state.mapEntries.clear();
  // Pins of endpoints that kept their programs are as the previous load left
  // them (checked by intactEndpoints); only the others need a look.
  std::set<std::string> keptEndpoints;
  for (const auto& endpoint : endpoints)
    if (endpoint.plan == ProgramPlan::Keep) keptEndpoints.insert(endpoint.artifacts->name);
  const std::set<std::string> previousPins(previous.pins.begin(), previous.pins.end());
  for (const auto& pin : livePins) {
    auto parts = fs::path(pin);
    auto endpointOfPin =
        std::next(parts.begin()) == parts.end() ? "" : std::next(parts.begin())->string();
    std::error_code ec;
    bool kept = keptEndpoints.contains(endpointOfPin) && previousPins.contains(pin);
    if (kept || fs::exists(placement.pinRoot / pin, ec)) state.pins.push_back(pin);
  }
  const std::set<std::string> livePinsThere(state.pins.begin(), state.pins.end());
  if (ipcacheFd.valid()) state.mapEntries[sharedMaps[0]] = wantedIpcache->size();
  state.tableSha256.clear();
  state.endpoints.clear();
  for (auto& endpoint : endpoints) {
    const auto& name = endpoint.artifacts->name;
    for (int direction = 0; direction < 2; ++direction) {
      auto pin = relativePin(node.name, name, kPolicyMaps[direction]);
      if (!livePinsThere.contains(pin)) continue;
      state.mapEntries[pin] = endpoint.entries(direction);
      state.tableSha256[pin] = endpoint.tableSha256[direction];
    }
    state.endpoints[name] = endpoint.record;
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
    report.endpoints.push_back(endpoint.report);
  }
  for (const auto& name : plan.departing) {
    std::string interface;
    for (const auto& old : previous.attachments)
      if (old.endpoint == name) interface = old.interface;
    report.endpoints.push_back({name, interface, EndpointAction::Detached, {}, {}, 0});
  }
  report.policyEntries = policyEntries;
  state.attachments = std::move(attachments);
  state.revision = *revision;
  state.outDir = pending.outDir;
  if (auto written = writeNodeState(stateDir, state); !written)
    return Error{"loaded, but could not record the loader state: " + written.error()};
  if (commitErrors.empty()) removePendingLoad(stateDir, node.name);
  timing.commit = lap();
  report.milliseconds = timing;
  if (!commitErrors.empty())
    return Error{
        "revision " + shortRevision(*revision) +
        " is in force, but cleaning up after it failed (run polc load again):" + commitErrors};
  return report;
}

Expected<UnloadReport> KernelLoader::unload(const UnloadRequest& request) {
  std::error_code ec;
  if (!fs::exists(request.placement.stateDir, ec)) return UnloadReport{}; // nothing recorded
  auto lock = StateLock::acquire(request.placement.stateDir, request.lockTimeout);
  if (!lock) return Error{"unload: " + lock.error()};
  std::vector<std::string> nodes;
  if (!request.node.empty()) {
    if (auto ok = checkPathComponent("node", request.node); !ok) return Error{ok.error()};
    nodes.push_back(request.node);
  } else {
    nodes = nodesWithState(request.placement.stateDir);
  }
  UnloadReport total;
  std::string errors;
  for (const auto& node : nodes) {
    auto report = unloadNode(request.placement, node);
    if (!report) {
      errors += (errors.empty() ? "" : "\n") + report.error();
      continue;
    }
    total.detached.insert(total.detached.end(), report->detached.begin(), report->detached.end());
    total.pinsRemoved += report->pinsRemoved;
  }
  if (!errors.empty()) return Error{errors};
  return total;
}

Expected<UnloadReport> KernelLoader::unloadNode(const Placement& placement,
                                                const std::string& node) {
  LibbpfLogCapture log;
  auto file = stateFile(placement.stateDir, node);
  auto loaded = readNodeState(file);
  if (!loaded) return Error{loaded.error()};
  UnloadReport report;
  if (!*loaded) return report; // nothing recorded: nothing of ours to remove
  const auto& state = **loaded;

  // A namespace that is gone took its interfaces and our filters with it.
  if (state.netns.empty() || netnsExists(state.netns)) {
    auto netns = NetnsGuard::enter(state.netns);
    if (!netns) return Error{"node " + node + ": " + netns.error()};
    std::map<std::string, std::vector<const TcAttachment*>> byInterface;
    for (const auto& attachment : state.attachments)
      byInterface[attachment.interface].push_back(&attachment);
    for (const auto& [interface, attachments] : byInterface) {
      auto index = interfaceIndex(interface);
      // Missing, or a different interface under the same name: ours are gone.
      if (!index || *index != attachments.front()->ifindex) continue;
      bool qdiscOurs = false;
      for (const auto* attachment : attachments) {
        auto detached = detachFilter(*index, interface, attachment->hook, log);
        if (!detached) return Error{"node " + node + ": " + detached.error()};
        if (*detached)
          report.detached.push_back({attachment->endpoint, interface, attachment->hook,
                                     attachment->program, attachment->programId});
        qdiscOurs = qdiscOurs || attachment->qdiscCreatedByPolc;
      }
      if (qdiscOurs)
        if (auto destroyed = destroyClsact(*index, interface, log); !destroyed)
          return Error{"node " + node + ": " + destroyed.error()};
    }
  }

  auto pins = state.pins; // and what an interrupted load staged
  if (state.pending)
    pins.insert(pins.end(), state.pending->pins.begin(), state.pending->pins.end());
  report.pinsRemoved = removePins(state.pinRoot, node, pins);
  removePendingLoad(placement.stateDir, node);
  std::error_code ec;
  fs::remove(file, ec);
  if (ec) return Error{"cannot remove loader state " + file.string() + ": " + ec.message()};
  return report;
}

} // namespace

std::unique_ptr<Loader> makeKernelLoader() {
  return std::make_unique<KernelLoader>();
}

} // namespace polc::loader
