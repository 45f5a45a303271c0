// The Loader on a real kernel: libbpf for objects and maps, tc clsact hooks
// for attachment, bpffs pins for maps shared across reloads.
//
// Order of a load, so that a refusal never leaves anything half done:
//   1. read and verify the artifacts, parse every table   (no kernel contact)
//   2. resolve every interface                            (read-only)
//   3. load every object, reusing pinned maps; fill maps  (nothing attached yet)
//   4. pin programs and attach them
// Full rollback of step 4 is a later change; after a failure in 3 or 4 the
// state file still lists everything created, so unload can remove it.
#include "polc/loader/loader.h"

#include "bpffs.h"
#include "libbpf_util.h"
#include "map_sync.h"
#include "netns_guard.h"
#include "node_state.h"
#include "state_lock.h"
#include "status.h"
#include "tc.h"

#include "polc/artifacts/digest.h"
#include "polc/artifacts/manifest.h"
#include "polc/artifacts/tables.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
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

template <typename T> Expected<T> readJsonFile(const fs::path& file, auto&& fromJson) {
  auto text = polc::readFile(file);
  if (!text) return Error{text.error()};
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

// One endpoint's part of the load, from the artifacts to the kernel.
struct EndpointLoad {
  const artifacts::EndpointArtifacts* artifacts = nullptr;
  artifacts::PolicyTable ingress;
  artifacts::PolicyTable egress;
  std::vector<ProgramToAttach> programs;
  int ifindex = 0;
  BpfObjectPtr object;
};

std::vector<ProgramToAttach> programsOf(const artifacts::EndpointArtifacts& endpoint) {
  std::vector<ProgramToAttach> programs;
  if (endpoint.fromEndpointProgram)
    programs.push_back({artifacts::kProgFromEndpoint, kHookTcIngress});
  if (endpoint.toEndpointProgram) programs.push_back({artifacts::kProgToEndpoint, kHookTcEgress});
  return programs;
}

std::string relativePin(const std::string& node, const std::string& endpoint,
                        const std::string& name) {
  return endpoint.empty() ? node + "/" + name : node + "/" + endpoint + "/" + name;
}

void addPin(NodeState& state, const std::string& pin) {
  if (std::find(state.pins.begin(), state.pins.end(), pin) == state.pins.end())
    state.pins.push_back(pin);
}

// A pin recorded in a state file must stay inside <pinRoot>/<node>.
bool pinBelongsToNode(const std::string& pin, const std::string& node) {
  if (!pin.starts_with(node + "/")) return false;
  for (const auto& part : fs::path(pin))
    if (part == ".." || part == ".") return false;
  return !fs::path(pin).is_absolute();
}

// Removes the pins and then every directory of theirs that became empty,
// up to and including <pinRoot>/<node>, then pinRoot itself if empty.
// Returns how many pins were removed.
size_t removePins(const fs::path& pinRoot, const std::string& node,
                  const std::vector<std::string>& pins) {
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
  for (fs::directory_iterator it(pinRoot / node, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_directory(ec)) directories.insert(it->path());
  directories.insert(pinRoot / node);
  for (const auto& dir : directories) (void)::rmdir(dir.c_str()); // fails while not empty: fine
  (void)::rmdir(pinRoot.c_str());
  return removed;
}

// Pins a program at path, replacing an older pin there in one step.
Status pinProgramReplacing(bpf_program* program, const fs::path& path, LibbpfLogCapture& log) {
  auto fresh = path;
  fresh += "-pinning";           // bpffs refuses '.' in names
  (void)::unlink(fresh.c_str()); // a leftover of an interrupted load
  if (int result = bpf_program__pin(program, fresh.c_str()); result != 0)
    return Error{libbpfError("pinning program at " + fresh.string(), result, log)};
  if (::rename(fresh.c_str(), path.c_str()) != 0) {
    int saved = errno;
    (void)::unlink(fresh.c_str());
    return Error{"pinning program at " + path.string() + ": " + std::strerror(saved)};
  }
  return okStatus();
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

Expected<LoadReport> KernelLoader::load(const LoadRequest& request) {
  const auto& placement = request.placement;
  // First: the state read below must still be true when it is written back.
  // (Also before the log capture: libbpf's print hook is process-global.)
  auto lock = StateLock::acquire(placement.stateDir, request.lockTimeout);
  if (!lock) return Error{"load: " + lock.error()};
  LibbpfLogCapture log;

  // 1. Artifacts: refuse tampered or incomplete output before any kernel contact.
  auto manifest = artifacts::readManifest(request.outDir);
  if (!manifest) return Error{manifest.error()};
  if (auto verified = artifacts::verifyManifest(request.outDir, *manifest); !verified)
    return Error{verified.error()};
  // The manifest lists every file's digest: its own digest names the build.
  auto revision = artifacts::sha256OfFile(request.outDir / "manifest.json");
  if (!revision) return Error{revision.error()};
  auto chosen = chooseNode(*manifest, request.node);
  if (!chosen) return Error{chosen.error()};
  const auto& node = **chosen;
  if (auto ok = checkPathComponent("node", node.name); !ok) return Error{ok.error()};

  auto ipcache = readJsonFile<artifacts::Ipcache>(
      request.outDir / node.ipcache, [](const auto& j) { return artifacts::ipcacheFromJson(j); });
  if (!ipcache) return Error{ipcache.error()};
  auto ipcacheEntries = toIpcacheMapEntries(*ipcache);
  if (!ipcacheEntries) return Error{node.ipcache + ": " + ipcacheEntries.error()};

  std::vector<EndpointLoad> endpoints;
  for (const auto& endpoint : node.endpoints) {
    if (!endpoint.object) continue; // nothing to enforce there
    if (auto ok = checkPathComponent("endpoint", endpoint.name); !ok) return Error{ok.error()};
    EndpointLoad load;
    load.artifacts = &endpoint;
    load.programs = programsOf(endpoint);
    auto readTable = [&](const std::string& file) {
      return readJsonFile<artifacts::PolicyTable>(
          request.outDir / file, [](const auto& j) { return artifacts::policyTableFromJson(j); });
    };
    auto ingress = readTable(endpoint.ingressTable);
    if (!ingress) return Error{ingress.error()};
    auto egress = readTable(endpoint.egressTable);
    if (!egress) return Error{egress.error()};
    load.ingress = std::move(*ingress);
    load.egress = std::move(*egress);
    endpoints.push_back(std::move(load));
  }

  auto stateDir = placement.stateDir;
  auto previous = readNodeState(stateFile(stateDir, node.name));
  if (!previous) return Error{previous.error()};
  if (*previous &&
      ((*previous)->pinRoot != placement.pinRoot.string() || (*previous)->netns != placement.netns))
    return Error{"node " + node.name + " is loaded with pin root " + (*previous)->pinRoot +
                 " and netns \"" + (*previous)->netns + "\"; unload it before changing either"};

  // 2. Interfaces: all must exist before anything is loaded.
  if (!placement.netns.empty() && !netnsExists(placement.netns))
    return Error{"network namespace \"" + placement.netns + "\" does not exist (" + kNetnsDir +
                 ")"};
  {
    auto netns = NetnsGuard::enter(placement.netns);
    if (!netns) return Error{netns.error()};
    for (auto& endpoint : endpoints) {
      auto index = interfaceIndex(endpoint.artifacts->interface);
      if (!index)
        return Error{"endpoint " + endpoint.artifacts->name + ": interface " +
                     endpoint.artifacts->interface + " not found" +
                     (placement.netns.empty() ? "" : " in network namespace " + placement.netns) +
                     " (" + index.error() + ")"};
      endpoint.ifindex = *index;
    }
  }

  // 3. Objects and maps. From here on the kernel changes, and the state
  // file records every change so that unload can undo it after a failure.
  if (auto mounted = ensureBpffs(placement.pinRoot); !mounted) return Error{mounted.error()};
  NodeState state = *previous ? **previous : NodeState{};
  state.node = node.name;
  state.netns = placement.netns;
  state.pinRoot = placement.pinRoot.string();
  auto failWithState = [&](const std::string& message) -> Error {
    if (auto written = writeNodeState(stateDir, state); !written)
      return Error{message + "\n(also failed to record loader state: " + written.error() + ")"};
    return Error{message};
  };

  const auto nodePins = placement.pinRoot / node.name;
  LoadReport report;
  report.node = node.name;
  int ipcacheFd = -1;
  for (auto& endpoint : endpoints) {
    const auto& name = endpoint.artifacts->name;
    const auto objectPath = request.outDir / *endpoint.artifacts->object;
    const auto endpointPins = nodePins / name;
    std::error_code ec;
    fs::create_directories(endpointPins, ec);
    if (ec)
      return failWithState("cannot create pin directory " + endpointPins.string() + ": " +
                           ec.message());

    BpfObjectPtr object(bpf_object__open_file(objectPath.c_str(), nullptr));
    if (!object)
      return failWithState(
          libbpfError("endpoint " + name + ": opening " + objectPath.string(), -errno, log));
    std::set<std::string> wanted;
    for (const auto& program : endpoint.programs) wanted.insert(program.name);
    bpf_program* program = nullptr;
    bpf_object__for_each_program(program, object.get()) {
      // Load only what the manifest asks to attach.
      bpf_program__set_autoload(program, wanted.contains(bpf_program__name(program)));
    }
    for (const auto& wantedName : wanted)
      if (!bpf_object__find_program_by_name(object.get(), wantedName.c_str()))
        return failWithState("endpoint " + name + ": object " + objectPath.string() +
                             " has no program " + wantedName);

    // The identity is not compiled in (endpoints share objects): it is
    // read-only config that the verifier sees as a constant.
    auto identitySet = setReadOnlyConfig(object.get(), artifacts::kConfigEndpointIdentity,
                                         endpoint.artifacts->identity);
    if (!identitySet)
      return failWithState("endpoint " + name + ": object " + objectPath.string() + ": " +
                           identitySet.error());

    struct PinnedMap {
      const char* name;
      std::string relative;
    };
    const PinnedMap pinnedMaps[] = {
        {artifacts::kMapIpcache, relativePin(node.name, "", artifacts::kMapIpcache)},
        {artifacts::kMapConntrack, relativePin(node.name, "", artifacts::kMapConntrack)},
        {artifacts::kMapPolicyIngress, relativePin(node.name, name, artifacts::kMapPolicyIngress)},
        {artifacts::kMapPolicyEgress, relativePin(node.name, name, artifacts::kMapPolicyEgress)},
    };
    for (const auto& pinned : pinnedMaps) {
      auto* map = bpf_object__find_map_by_name(object.get(), pinned.name);
      if (!map) continue; // a specialized program may not use every map
      auto path = placement.pinRoot / pinned.relative;
      if (int result = bpf_map__set_pin_path(map, path.c_str()); result != 0)
        return failWithState(libbpfError("endpoint " + name + ": map " + pinned.name, result, log));
    }
    if (int result = bpf_object__load(object.get()); result != 0) {
      // Maps pinned before the failure are recorded, so unload finds them.
      for (const auto& pinned : pinnedMaps)
        if (fs::exists(placement.pinRoot / pinned.relative, ec)) addPin(state, pinned.relative);
      return failWithState(
          libbpfError("endpoint " + name + ": loading " + objectPath.string(), result, log));
    }
    for (const auto& pinned : pinnedMaps) {
      auto* map = bpf_object__find_map_by_name(object.get(), pinned.name);
      if (map && bpf_map__is_pinned(map)) addPin(state, pinned.relative);
    }

    if (auto* map = bpf_object__find_map_by_name(object.get(), artifacts::kMapIpcache);
        map && ipcacheFd < 0)
      ipcacheFd = bpf_map__fd(map); // every object shares the pinned map: fill it once
    auto fillPolicy = [&](const char* mapName, const artifacts::PolicyTable& table) -> Status {
      auto* map = bpf_object__find_map_by_name(object.get(), mapName);
      if (!map) {
        if (table.entries.empty()) return okStatus();
        return Error{"endpoint " + name + ": object has no map " + mapName + " for its " +
                     std::string(artifacts::toString(table.direction)) + " table"};
      }
      auto written = syncLpmMap(bpf_map__fd(map), std::string(mapName) + " of endpoint " + name,
                                toPolicyMapEntries(table));
      if (!written) return Error{written.error()};
      report.policyEntries += *written;
      state.mapEntries[relativePin(node.name, name, mapName)] = *written;
      return okStatus();
    };
    if (auto filled = fillPolicy(artifacts::kMapPolicyIngress, endpoint.ingress); !filled)
      return failWithState(filled.error());
    if (auto filled = fillPolicy(artifacts::kMapPolicyEgress, endpoint.egress); !filled)
      return failWithState(filled.error());
    endpoint.object = std::move(object);
  }
  if (ipcacheFd >= 0) {
    auto written = syncLpmMap(
        ipcacheFd, std::string(artifacts::kMapIpcache) + " of node " + node.name, *ipcacheEntries);
    if (!written) return failWithState(written.error());
    report.ipcacheEntries = *written;
    state.mapEntries[relativePin(node.name, "", artifacts::kMapIpcache)] = *written;
  }

  // 4. Pin and attach the programs.
  for (auto& endpoint : endpoints) {
    for (const auto& program : endpoint.programs) {
      auto* handle = bpf_object__find_program_by_name(endpoint.object.get(), program.name.c_str());
      auto relative = relativePin(node.name, endpoint.artifacts->name, program.name);
      if (auto pinned = pinProgramReplacing(handle, placement.pinRoot / relative, log); !pinned)
        return failWithState("endpoint " + endpoint.artifacts->name + ": " + pinned.error());
      addPin(state, relative);
    }
  }
  std::set<std::pair<std::string, std::string>> attachedNow; // (interface, hook)
  {
    auto netns = NetnsGuard::enter(placement.netns);
    if (!netns) return failWithState(netns.error());
    for (auto& endpoint : endpoints) {
      const auto& interface = endpoint.artifacts->interface;
      auto created = ensureClsact(endpoint.ifindex, interface, log);
      if (!created)
        return failWithState("endpoint " + endpoint.artifacts->name + ": " + created.error());
      // The qdisc stays ours across reloads if an earlier load created it.
      bool ours = *created;
      for (const auto& old : state.attachments)
        if (old.interface == interface && old.ifindex == endpoint.ifindex && old.qdiscCreatedByPolc)
          ours = true;
      for (const auto& program : endpoint.programs) {
        auto* handle =
            bpf_object__find_program_by_name(endpoint.object.get(), program.name.c_str());
        auto id =
            attachFilter(endpoint.ifindex, interface, program.hook, bpf_program__fd(handle), log);
        if (!id) return failWithState("endpoint " + endpoint.artifacts->name + ": " + id.error());
        TcAttachment attachment{endpoint.artifacts->name,
                                interface,
                                endpoint.ifindex,
                                program.hook,
                                kTcFilterHandle,
                                kTcFilterPriority,
                                program.name,
                                *id,
                                ours};
        auto same =
            std::find_if(state.attachments.begin(), state.attachments.end(), [&](const auto& a) {
              return a.interface == interface && a.hook == program.hook;
            });
        if (same != state.attachments.end())
          *same = attachment;
        else
          state.attachments.push_back(attachment);
        attachedNow.insert({interface, program.hook});
        report.attached.push_back(
            {endpoint.artifacts->name, interface, program.hook, program.name, *id});
      }
      for (auto& attachment : state.attachments)
        if (attachment.interface == interface) attachment.qdiscCreatedByPolc = ours;
    }

    // What an earlier load attached and this one no longer does (an endpoint
    // that lost its object or a program, or left the node).
    std::vector<TcAttachment> stale, kept;
    for (const auto& attachment : state.attachments)
      (attachedNow.contains({attachment.interface, attachment.hook}) ? kept : stale)
          .push_back(attachment);
    std::set<std::string> qdiscsToRemove;
    for (const auto& attachment : stale) {
      auto index = interfaceIndex(attachment.interface);
      if (!index || *index != attachment.ifindex) continue; // gone with its interface
      auto detached = detachFilter(*index, attachment.interface, attachment.hook, log);
      if (!detached) return failWithState(detached.error());
      bool interfaceStillUsed = std::any_of(kept.begin(), kept.end(), [&](const auto& a) {
        return a.interface == attachment.interface;
      });
      if (attachment.qdiscCreatedByPolc && !interfaceStillUsed)
        qdiscsToRemove.insert(attachment.interface);
    }
    for (const auto& interface : qdiscsToRemove) {
      auto index = interfaceIndex(interface);
      if (!index) continue;
      if (auto destroyed = destroyClsact(*index, interface, log); !destroyed)
        return failWithState(destroyed.error());
    }
    state.attachments = kept;
  }

  // Pins of endpoints and programs that are gone.
  std::set<std::string> livePins;
  for (const auto& pinned : {artifacts::kMapIpcache, artifacts::kMapConntrack})
    livePins.insert(relativePin(node.name, "", pinned));
  for (const auto& endpoint : endpoints) {
    for (const auto* map : {artifacts::kMapPolicyIngress, artifacts::kMapPolicyEgress})
      livePins.insert(relativePin(node.name, endpoint.artifacts->name, map));
    for (const auto& program : endpoint.programs)
      livePins.insert(relativePin(node.name, endpoint.artifacts->name, program.name));
  }
  std::vector<std::string> stalePins, keptPins;
  for (const auto& pin : state.pins) (livePins.contains(pin) ? keptPins : stalePins).push_back(pin);
  removePins(placement.pinRoot, node.name, stalePins);
  state.pins = keptPins;
  for (const auto& pin : stalePins) state.mapEntries.erase(pin);
  // Recorded only now: until every program is attached, the node runs
  // (parts of) the previous revision.
  state.revision = *revision;
  std::error_code absoluteError;
  state.outDir = fs::absolute(request.outDir, absoluteError).lexically_normal().string();

  if (auto written = writeNodeState(stateDir, state); !written)
    return Error{"loaded, but could not record the loader state: " + written.error()};
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

  report.pinsRemoved = removePins(state.pinRoot, node, state.pins);
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
