// The text of each table a committed load filled a map from, kept beside
// the node's state as <stateDir>/<node>.tables/<sha256>.json, so that the
// next load diffs the new table against it line by line
// (artifacts/table_lines.h) instead of reading the whole map back from the
// kernel: a one-rule change costs what changed, not the table.
//
// Only what the map holds is kept (of a table, the text through its
// entries, artifacts::entriesPart: its rule references are not in the map;
// all of services.json), with a checksum line after it. A cache, not a record: written without
// fsync, and checked against its checksum when read. A missing or damaged snapshot only means the
// map is read, as before snapshots. Only tables whose entries are strictly sorted are kept (a delta
// needs that of its `before`).
#pragma once

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace polc::runtime {

std::filesystem::path snapshotDirectory(const std::filesystem::path& stateDir,
                                        const std::string& node);

// The text of the table of digest `sha256` through its entries, if kept
// and intact.
std::optional<std::string> readTableSnapshot(const std::filesystem::path& stateDir,
                                             const std::string& node, const std::string& sha256);

// Keeps `text`, the part of the table of digest `sha256` that a delta
// needs, unless kept already.
// Failures are ignored: the next load reads the map instead.
void keepTableSnapshot(const std::filesystem::path& stateDir, const std::string& node,
                       const std::string& sha256, std::string_view text);

// Removes the snapshots of digests not in `inUse`; all of them (and their
// directory) when it is empty.
void pruneTableSnapshots(const std::filesystem::path& stateDir, const std::string& node,
                         const std::set<std::string>& inUse);

} // namespace polc::runtime
