// The maps' part of a load (docs/cli.md, "Reloads are transactions"),
// through a maps::MapBackend so that its logic is unit-tested without a
// kernel (tests/loader/load_maps_test.cpp):
//   - which tables the live maps are known to hold already (neither read
//     nor written),
//   - whether a kept endpoint's new table fits its live map, or the
//     endpoint takes new programs and maps,
//   - the in-place updates of the ipcache and of kept endpoints' tables,
//     each writing only what differs, with its undo registered first.
#pragma once

#include "load_plan.h"
#include "map_delta.h"
#include "node_state.h"

#include "polc/maps/map_backend.h"
#include "polc/support/expected.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace polc::runtime {

// Undo actions of the switch, run newest first when a later step fails.
class Rollback {
public:
  void add(std::function<Status()> undo) { undo_.push_back(std::move(undo)); }
  // The errors of undo actions that failed, one per line; empty when all worked.
  std::string run();

private:
  std::vector<std::function<Status()>> undo_;
};

// How many entries the map at `pin` (relative to the pin root) holds when it
// is known to hold the table of digest `sha256` already, so that neither
// needs reading: the last load that committed filled it from a table of that
// digest, and no load was interrupted since (a killed or unrolled load may
// have written it half way). Only polc writes its pinned maps, under the
// state lock.
std::optional<uint64_t> knownFilled(const NodeState& previous, const std::string& pin,
                                    const std::string& sha256);

// The same for an endpoint's policy map: only while its programs stay
// (their hooks and pins were just checked).
std::optional<uint64_t> tableKnownLoaded(const NodeState& previous, ProgramPlan plan,
                                         const std::string& pin, const std::string& sha256);

// Whether the live map pinned at `pin`, holding `liveEntries` (unknown:
// assumed full), can take `wantedEntries` in place (maps::updateFitsInPlace).
// No map pinned there: true (there is nothing to overflow). A map whose size
// cannot be read: false (new maps are the safe choice).
bool fitsLiveMap(maps::MapBackend&, const std::filesystem::path& pin,
                 std::optional<uint64_t> liveEntries, size_t wantedEntries);

// Makes the live map that holds `before` hold `after`, writing only the
// entries that differ. The undo (back to `before`) is registered before the
// first write, so that a write that fails half way is undone too (undoing
// from `after` skips what never changed and tolerates deleting what was not
// written yet). `before` and `after` must outlive the rollback.
Status updateInPlace(maps::MapBackend&, Rollback&, maps::MapHandle, const std::string& mapName,
                     const maps::MapContents& before, const maps::MapContents& after);

// The same for the node's ipcache and its prefix lengths map
// (maps::applyIpcache). With `delta`, `before` and `after` are its entries
// that differ (map_delta.h) and the lengths are its.
Status updateIpcacheInPlace(maps::MapBackend&, Rollback&, maps::MapHandle ipcache,
                            maps::MapHandle lengths, const std::string& mapName,
                            const maps::MapContents& before, const maps::MapContents& after,
                            const MapDelta* delta = nullptr);

} // namespace polc::runtime
