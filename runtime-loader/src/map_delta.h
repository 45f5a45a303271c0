// A table's change as the few map entries that differ, computed from the
// text of what the live map holds (table_snapshots.h) and the new table's
// text (artifacts/table_lines.h). `before` holds the keys that go or change
// with their values now, `after` the keys that come or change with their
// new values: applyContents(before -> after) is the whole update, and
// (after -> before) its undo.
#pragma once

#include "polc/maps/map_backend.h"
#include "polc/support/expected.h"

#include <optional>
#include <string>
#include <string_view>

namespace polc::runtime {

struct MapDelta {
  maps::MapContents before, after;
  size_t entries = 0; // the whole new table's
  // The ipcache's prefix lengths: before the update, during it (old and
  // new) and after it.
  polc_ipcache_lengths lengthsBefore{}, lengthsDuring{}, lengthsAfter{};
};

// nullopt when the texts do not allow a delta (the caller reads the whole
// table and the map, whose errors are the ones reported).
std::optional<MapDelta> policyMapDelta(const std::string& mapName, std::string_view beforeText,
                                       std::string_view afterText);
std::optional<MapDelta> ipcacheMapDelta(const std::string& mapName, std::string_view beforeText,
                                        std::string_view afterText);

// Whether a key the delta adds (rather than changes) is in the live map
// already: the new table would then hold it twice, which only reading the
// whole table tells apart (the same entry twice, or a conflict). One lookup
// per added key.
Expected<bool> addsLiveKey(maps::MapBackend&, maps::MapHandle, const std::string& mapName,
                           const maps::MapContents& before, const maps::MapContents& after);

} // namespace polc::runtime
