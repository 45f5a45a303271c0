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
// previous revision stays in force. A killed load leaves its journal (its
// staged pins and every hook it attaches to): status reports it, unload and
// the next load undo it. The steps are LoadTransaction's
// (load_transaction.h); unloading is here, from the state and the journal.
#include "polc/loader/loader.h"

#include "load_transaction.h"
#include "node_pins.h"
#include "node_state.h"
#include "pin_root_owner.h"
#include "polc/maps/libbpf.h"
#include "polc/support/netns_guard.h"
#include "state_lock.h"
#include "status.h"
#include "table_snapshots.h"
#include "tc.h"
#include "tc_query.h"

#include <cstring>
#include <map>
#include <memory>
#include <set>
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
  Expected<UnloadReport> unloadNode(const UnloadRequest& request, const std::string& node);
};

Expected<LoadReport> KernelLoader::load(const LoadRequest& request) {
  // First: the state read below must still be true when it is written back.
  // (Also before the log capture: libbpf's print hook is process-global.)
  auto lock = StateLock::acquire(request.placement.stateDir, request.lockTimeout);
  if (!lock) return Error{"load: " + lock.error()};
  maps::LibbpfLogCapture log;
  LoadTransaction transaction(request, log);
  // From the journal on, a step that fails has already undone the load.
  if (auto ok = transaction.readBuild(); !ok) return ok.failure();
  if (auto ok = transaction.inspectKernel(); !ok) return ok.failure();
  if (auto ok = transaction.readTables(); !ok) return ok.failure();
  if (auto ok = transaction.writeJournal(); !ok) return ok.failure();
  if (auto ok = transaction.prepare(); !ok) return ok.failure();
  if (auto ok = transaction.switchOver(); !ok) return ok.failure();
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
    auto report = unloadNode(request, node);
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

// A hook polc may have a filter on: recorded when a load committed, or by a
// load's journal before it attached.
struct KnownHook {
  std::string interface;
  int ifindex = 0;
  std::string hook;
  bool qdiscOurs = false;
  const TcAttachment* attachment = nullptr; // what the report says, if committed
};

std::vector<KnownHook> knownHooks(const NodeState* state, const PendingLoad* journal) {
  std::vector<KnownHook> hooks;
  if (state)
    for (const auto& a : state->attachments)
      hooks.push_back({a.interface, a.ifindex, a.hook, a.qdiscCreatedByPolc, &a});
  if (journal)
    for (const auto& h : journal->hooks)
      hooks.push_back({h.interface, h.ifindex, h.hook, h.qdiscCreatedByPolc, nullptr});
  return hooks;
}

// Removes polc's filter from every hook of an interface that is still the
// one recorded, then the clsact qdiscs a record says polc created there.
// In the current netns.
Status detachKnownHooks(const std::vector<KnownHook>& hooks, UnloadReport& report,
                        maps::LibbpfLogCapture& log) {
  std::map<std::pair<std::string, int>, std::vector<const KnownHook*>> byInterface;
  for (const auto& hook : hooks) byInterface[{hook.interface, hook.ifindex}].push_back(&hook);
  for (const auto& [key, group] : byInterface) {
    const auto& [interface, ifindex] = key;
    auto index = interfaceIndex(interface);
    // Missing, or a different interface under the same name: ours are gone.
    if (!index || *index != ifindex) continue;
    std::set<std::string> done;
    bool qdiscOurs = false;
    for (const auto* hook : group) {
      qdiscOurs = qdiscOurs || hook->qdiscOurs;
      if (!done.insert(hook->hook).second) continue;
      auto detached = detachFilter(*index, interface, hook->hook, log);
      if (!detached) return Error{detached.error()};
      if (!*detached) continue;
      const auto* a = hook->attachment;
      report.detached.push_back(
          a ? AttachedProgram{a->endpoint, interface, a->hook, a->program, a->programId}
            : AttachedProgram{"", interface, hook->hook, "", 0});
    }
    if (qdiscOurs)
      if (auto destroyed = destroyClsact(*index, interface, log); !destroyed) return destroyed;
  }
  return okStatus();
}

// With no record to go by: polc's filter (its handle and priority, kind
// bpf) goes from every hook of every interface of the current netns, and so
// does a clsact qdisc it leaves holding no filter at all (whoever made it,
// an empty one does nothing). Nothing else is touched.
Status detachEveryPolcFilter(UnloadReport& report, maps::LibbpfLogCapture& log) {
  auto interfaces = allInterfaces();
  if (!interfaces) return Error{interfaces.error()};
  auto query = TcFilterQuery::open();
  if (!query) return Error{query.error()};
  std::vector<TcFilterQuery::Hook> hooks;
  std::vector<const std::string*> names;
  for (const auto& [name, index] : *interfaces)
    for (const auto* hook : {kHookTcIngress, kHookTcEgress}) {
      hooks.push_back({index, hook});
      names.push_back(&name);
    }
  auto ids = query->programIds(hooks);
  if (!ids) return Error{ids.error()};
  std::map<int, const std::string*> emptied;
  for (size_t i = 0; i < hooks.size(); ++i) {
    if (!(*ids)[i]) continue;
    auto detached = detachFilter(hooks[i].ifindex, *names[i], hooks[i].hook, log);
    if (!detached) return Error{detached.error()};
    if (!*detached) continue;
    report.detached.push_back({"", *names[i], hooks[i].hook, "", *(*ids)[i]});
    emptied[hooks[i].ifindex] = names[i];
  }
  for (const auto& [index, name] : emptied) {
    bool any = false;
    for (const auto* hook : {kHookTcIngress, kHookTcEgress}) {
      auto found = query->anyFilter(index, hook);
      if (!found) return Error{found.error()};
      any = any || *found;
    }
    if (!any)
      if (auto destroyed = destroyClsact(index, *name, log); !destroyed) return destroyed;
  }
  return okStatus();
}

// Temporaries a killed writer left beside the node's state files.
void removeStateTemporaries(const fs::path& stateDir, const std::string& node) {
  std::error_code ec;
  for (fs::directory_iterator it(stateDir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto name = it->path().filename().string();
    if (name.starts_with(node + ".json.tmp.") || name.starts_with(node + ".pending.tmp."))
      fs::remove(it->path(), ec);
  }
}

Expected<UnloadReport> KernelLoader::unloadNode(const UnloadRequest& request,
                                                const std::string& node) {
  const auto& placement = request.placement;
  maps::LibbpfLogCapture log;
  auto records = readNodeRecords(placement.stateDir, node);
  if (!records.readable() && !request.force)
    return Error{(records.stateError.empty() ? records.journalError : records.stateError) + "; " +
                 unreadableStateHint(node)};
  UnloadReport report;
  // Without --force, nothing recorded means nothing of ours to remove.
  if (records.empty() && !request.force) return report;
  const NodeState* state = records.state ? &*records.state : nullptr;
  const PendingLoad* journal = records.journal ? &*records.journal : nullptr;
  // Where: as recorded (a journal of an earlier version names neither).
  const bool journalSaysWhere = journal && !journal->pinRoot.empty();
  std::string netns = placement.netns;
  if (state)
    netns = state->netns;
  else if (journalSaysWhere)
    netns = journal->netns;
  else if (!request.netnsGiven && request.nodeNetns)
    netns = request.nodeNetns(node);
  const fs::path pinRoot = state              ? fs::path(state->pinRoot)
                           : journalSaysWhere ? fs::path(journal->pinRoot)
                                              : placement.pinRoot;
  // --force looks at every interface when no readable record lists every
  // hook (a state or journal that cannot be read, or none and a namespace
  // named).
  const bool scan =
      request.force &&
      (!records.readable() || (records.empty() && (request.netnsGiven || request.nodeNetns)));
  // Never another state dir's pins, not even with --force.
  if (auto owned = checkPinRootOwner(pinRoot, placement.stateDir); !owned)
    return Error{"node " + node + ": " + owned.error()};

  // A namespace that is gone took its interfaces and our filters with it.
  if (netns.empty() || netnsExists(netns)) {
    auto entered = NetnsGuard::enter(netns);
    if (!entered) return Error{"node " + node + ": " + entered.error()};
    if (auto ok = detachKnownHooks(knownHooks(state, journal), report, log); !ok)
      return Error{"node " + node + ": " + ok.error()};
    if (scan)
      if (auto ok = detachEveryPolcFilter(report, log); !ok)
        return Error{"node " + node + ": " + ok.error()};
  }

  std::vector<std::string> pins;
  if (state) pins = state->pins;
  if (journal) // what an interrupted load staged, also renamed if it got that far
    for (const auto& pin : journal->pins) {
      pins.push_back(pin);
      if (pin.ends_with(kStagedSuffix))
        pins.push_back(pin.substr(0, pin.size() - std::strlen(kStagedSuffix)));
    }
  report.pinsRemoved = removePins(pinRoot, node, pins);
  if (request.force) report.pinsRemoved += removeNodePinDirectory(pinRoot, node);

  removeStateTemporaries(placement.stateDir, node);
  pruneTableSnapshots(placement.stateDir, node, {});
  const auto file = stateFile(placement.stateDir, node);
  const auto journalFile = pendingFile(placement.stateDir, node);
  std::error_code ec;
  if (request.force) { // whatever they are now (a directory, garbage)
    fs::remove_all(journalFile, ec);
    if (!ec) fs::remove_all(file, ec);
  } else {
    removePendingLoad(placement.stateDir, node);
    fs::remove(file, ec);
  }
  if (ec) return Error{"cannot remove loader state " + file.string() + ": " + ec.message()};
  releasePinRoot(pinRoot, placement.stateDir);
  return report;
}

} // namespace

std::unique_ptr<Loader> makeKernelLoader() {
  return std::make_unique<KernelLoader>();
}

} // namespace polc::loader
