#include "map_delta.h"

#include "polc/artifacts/table_lines.h"

namespace polc::runtime {

std::optional<MapDelta> policyMapDelta(const std::string& mapName, std::string_view beforeText,
                                       std::string_view afterText) {
  auto lines = artifacts::policyTableDelta(beforeText, afterText);
  if (!lines) return std::nullopt;
  artifacts::PolicyTable removed, added;
  removed.entries = std::move(lines->removed);
  added.entries = std::move(lines->added);
  auto before = maps::toMapContents(mapName, maps::toPolicyMapEntries(removed));
  auto after = maps::toMapContents(mapName, maps::toPolicyMapEntries(added));
  if (!before || !after) return std::nullopt;
  return MapDelta{std::move(*before), std::move(*after), lines->entries};
}

std::optional<MapDelta> ipcacheMapDelta(const std::string& mapName, std::string_view beforeText,
                                        std::string_view afterText) {
  auto lines = artifacts::ipcacheDelta(beforeText, afterText);
  auto lengthsBefore = artifacts::ipcachePrefixLengths(beforeText);
  auto lengthsAfter = artifacts::ipcachePrefixLengths(afterText);
  if (!lines || !lengthsBefore || !lengthsAfter) return std::nullopt;
  auto removed = maps::toIpcacheMapEntries(artifacts::Ipcache{std::move(lines->removed)});
  auto added = maps::toIpcacheMapEntries(artifacts::Ipcache{std::move(lines->added)});
  if (!removed || !added) return std::nullopt;
  auto before = maps::toMapContents(mapName, *removed);
  auto after = maps::toMapContents(mapName, *added);
  if (!before || !after) return std::nullopt;
  return MapDelta{std::move(*before),
                  std::move(*after),
                  lines->entries,
                  maps::ipcacheLengths({&*lengthsBefore}),
                  maps::ipcacheLengths({&*lengthsBefore, &*lengthsAfter}),
                  maps::ipcacheLengths({&*lengthsAfter})};
}

Expected<bool> addsLiveKey(maps::MapBackend& backend, maps::MapHandle map,
                           const std::string& mapName, const maps::MapContents& before,
                           const maps::MapContents& after) {
  for (const auto& [key, value] : after) {
    if (before.contains(key)) continue;
    auto live = backend.lookup(map, mapName, key, value.size());
    if (!live) return Error{live.error()};
    if (*live) return true;
  }
  return false;
}

} // namespace polc::runtime
