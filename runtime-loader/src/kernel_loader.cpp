// The Loader on a real kernel: libbpf for objects and maps, tc clsact hooks
// for attachment, bpffs pins for maps shared across reloads.
//
// A load is a transaction (docs/cli.md, "Reloads are transactions"):
//   1. read and verify the artifacts; ask what the recorded hooks run
//                                                          (kernel read only)
//   2. resolve every interface; see what the kernel runs   (read-only)
//   3. journal: record the load and its staged pins        (state dir only)
//   4. prepare: load new objects with fresh policy maps, fill them, pin
//      programs and maps beside the live pins              (nothing switched)
//   5. switch: ipcache, in-place tables, tc filters replaced in place, stale
//      filters detached; every step records its undo
//   6. commit: staged pins renamed over the live ones, state written
// A failure in 3-5 undoes the switch and removes the staged pins: the
// previous revision stays in force. A killed load leaves its journal: status
// reports it and the next load removes its staged pins. The steps are
// LoadTransaction's (load_transaction.h); unloading is here.
#include "polc/loader/loader.h"

#include "libbpf_util.h"
#include "load_transaction.h"
#include "netns_guard.h"
#include "node_pins.h"
#include "node_state.h"
#include "pin_root_owner.h"
#include "state_lock.h"
#include "status.h"
#include "tc.h"

#include <map>
#include <memory>
#include <vector>

namespace polc::loader {

namespace fs = std::filesystem;
using namespace polc::runtime;

namespace {

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

Expected<LoadReport> KernelLoader::load(const LoadRequest& request) {
  // First: the state read below must still be true when it is written back.
  // (Also before the log capture: libbpf's print hook is process-global.)
  auto lock = StateLock::acquire(request.placement.stateDir, request.lockTimeout);
  if (!lock) return Error{"load: " + lock.error()};
  LibbpfLogCapture log;
  LoadTransaction transaction(request, log);
  // From the journal on, a step that fails has already undone the load.
  if (auto ok = transaction.readBuild(); !ok) return Error{ok.error()};
  if (auto ok = transaction.inspectKernel(); !ok) return Error{ok.error()};
  if (auto ok = transaction.readTables(); !ok) return Error{ok.error()};
  if (auto ok = transaction.writeJournal(); !ok) return Error{ok.error()};
  if (auto ok = transaction.prepare(); !ok) return Error{ok.error()};
  if (auto ok = transaction.switchOver(); !ok) return Error{ok.error()};
  return transaction.commit();
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
  if (auto owned = checkPinRootOwner(state.pinRoot, placement.stateDir); !owned)
    return Error{"node " + node + ": " + owned.error()};

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
  releasePinRoot(state.pinRoot, placement.stateDir);
  return report;
}

} // namespace

std::unique_ptr<Loader> makeKernelLoader() {
  return std::make_unique<KernelLoader>();
}

} // namespace polc::loader
