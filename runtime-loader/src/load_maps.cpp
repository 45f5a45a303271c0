#include "load_maps.h"

namespace polc::runtime {

std::string Rollback::run() {
  std::string errors;
  for (auto it = undo_.rbegin(); it != undo_.rend(); ++it)
    if (auto undone = (*it)(); !undone) errors += "\n  " + undone.error();
  undo_.clear();
  return errors;
}

std::optional<uint64_t> knownFilled(const NodeState& previous, const std::string& pin,
                                    const std::string& sha256) {
  if (previous.pending) return std::nullopt;
  auto recorded = previous.tableSha256.find(pin);
  auto entries = previous.mapEntries.find(pin);
  if (recorded == previous.tableSha256.end() || recorded->second != sha256 ||
      entries == previous.mapEntries.end())
    return std::nullopt;
  return entries->second;
}

std::optional<uint64_t> tableKnownLoaded(const NodeState& previous, ProgramPlan plan,
                                         const std::string& pin, const std::string& sha256) {
  if (plan != ProgramPlan::Keep) return std::nullopt;
  return knownFilled(previous, pin, sha256);
}

bool fitsLiveMap(maps::MapBackend& backend, const std::filesystem::path& pin,
                 std::optional<uint64_t> liveEntries, size_t wantedEntries) {
  auto map = backend.openPinned(pin);
  if (!map) return false;
  if (!map->valid()) return true;
  auto capacity = backend.capacity(map->handle(), pin.string());
  return capacity && maps::updateFitsInPlace(*capacity, liveEntries, wantedEntries);
}

Status updateInPlace(maps::MapBackend& backend, Rollback& rollback, maps::MapHandle map,
                     const std::string& mapName, const maps::MapContents& before,
                     const maps::MapContents& after) {
  rollback.add([&backend, map, mapName, &before, &after] {
    return maps::applyContents(backend, map, mapName, after, before);
  });
  return maps::applyContents(backend, map, mapName, before, after);
}

Status updateIpcacheInPlace(maps::MapBackend& backend, Rollback& rollback, maps::MapHandle ipcache,
                            maps::MapHandle lengths, const std::string& mapName,
                            const maps::MapContents& before, const maps::MapContents& after,
                            const MapDelta* delta) {
  if (!delta) {
    rollback.add([&backend, ipcache, lengths, mapName, &before, &after] {
      return maps::applyIpcache(backend, ipcache, lengths, mapName, after, before);
    });
    return maps::applyIpcache(backend, ipcache, lengths, mapName, before, after);
  }
  rollback.add([&backend, ipcache, lengths, mapName, &before, &after, delta] {
    return maps::applyIpcache(backend, ipcache, lengths, mapName, after, before,
                              delta->lengthsDuring, delta->lengthsBefore);
  });
  return maps::applyIpcache(backend, ipcache, lengths, mapName, before, after, delta->lengthsDuring,
                            delta->lengthsAfter);
}

} // namespace polc::runtime
