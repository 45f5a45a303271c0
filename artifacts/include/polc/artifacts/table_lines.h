// Two revisions of a table file compared line by line, as toJsonText writes
// them (one entry per line, sorted): a load that knows the text of what a
// map holds parses only the entries that differ, so that a one-rule change
// costs a few parses whatever the size of the table (docs/cli.md, "Reloads
// are transactions").
//
// Texts not in that form, or lines that do not parse, give nullopt: the
// caller falls back to reading whole tables, whose errors are the ones
// reported. `before` must hold strictly sorted entries (a table a load
// checked whole, or reached through a delta): each added line is checked
// against its neighbours, so that `after` is strictly sorted too, and the
// lines two texts share are the same entries.
#pragma once

#include "polc/artifacts/tables.h"

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace polc::artifacts {

template <typename Entry> struct EntryDelta {
  std::vector<Entry> removed; // in `before`, not in `after`
  std::vector<Entry> added;   // in `after`, not in `before`
  size_t entries = 0;         // how many `after` holds
};

std::optional<EntryDelta<PolicyEntry>> policyTableDelta(std::string_view before,
                                                        std::string_view after);
std::optional<EntryDelta<IpcacheEntry>> ipcacheDelta(std::string_view before,
                                                     std::string_view after);

// The start of a table text through the end of its entries: all a delta
// needs of `before`. nullopt when it is not in toJsonText's form.
std::optional<std::string_view> entriesPart(std::string_view text);

// The elements of the array `key` of a text written one element per line as
// toJsonText writes its entries, each without its indent and comma: what a
// delta of another file in that form compares. nullopt when not in it.
std::optional<std::vector<std::string_view>> arrayLines(std::string_view text,
                                                        std::string_view key);

// The address families and prefix lengths an ipcache text holds, without
// parsing its entries; nullopt when it is not in toJsonText's form.
struct PrefixLengths {
  std::vector<uint8_t> ipv4, ipv6; // sorted, distinct
  bool operator==(const PrefixLengths&) const = default;
};
std::optional<PrefixLengths> ipcachePrefixLengths(std::string_view text);

} // namespace polc::artifacts
