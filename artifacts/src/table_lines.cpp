#include "polc/artifacts/table_lines.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>
#include <string>

namespace polc::artifacts {
namespace {

// The text before the entries, one view per entry line (without its
// separating comma), and where the entries end (after the "  ]" line).
struct EntryLines {
  std::string_view head;
  std::vector<std::string_view> lines;
  size_t end = 0;
};

// A raw newline never occurs inside a JSON string, so the markers below are
// structure, whatever names the table holds.
std::optional<EntryLines> entryLines(std::string_view text, std::string_view key = "entries") {
  const std::string marker = "\n  \"" + std::string(key) + "\": [";
  const auto start = text.find(marker);
  if (start == std::string_view::npos) return std::nullopt;
  EntryLines result;
  result.head = text.substr(0, start);
  auto at = start + marker.size();
  if (text.substr(at, 1) == "]") {
    result.end = at + 1;
    return result;
  }
  if (text.substr(at, 1) != "\n") return std::nullopt;
  ++at;
  while (true) {
    auto end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size(); // entriesPart's last line
    auto line = text.substr(at, end - at);
    if (line == "  ]" || line.starts_with("  ],")) {
      result.end = at + 3;
      return result;
    }
    if (!line.starts_with("    {") || end == text.size()) return std::nullopt;
    if (line.ends_with(",")) line.remove_suffix(1);
    if (!line.ends_with("}")) return std::nullopt;
    result.lines.push_back(line.substr(4));
    at = end + 1;
  }
}

template <typename Entry, typename Parse>
std::optional<Entry> parseLine(std::string_view line, Parse parse) {
  auto json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return std::nullopt;
  auto entry = parse(json);
  if (!entry) return std::nullopt;
  return *entry;
}

// A merge of two sorted line sequences: equal lines are skipped by
// comparing bytes; only where they differ are lines parsed and ordered.
template <typename Entry, typename Parse>
std::optional<EntryDelta<Entry>> lineDelta(std::string_view beforeText, std::string_view afterText,
                                           Parse parse) {
  auto before = entryLines(beforeText);
  auto after = entryLines(afterText);
  if (!before || !after || before->head != after->head) return std::nullopt;
  const auto& old = before->lines;
  const auto& now = after->lines;
  EntryDelta<Entry> delta;
  delta.entries = now.size();
  auto parseNew = [&](size_t j) { return parseLine<Entry>(now[j], parse); };
  size_t i = 0, j = 0;
  while (i < old.size() || j < now.size()) {
    if (i < old.size() && j < now.size() && old[i] == now[j]) {
      ++i, ++j;
      continue;
    }
    std::optional<Entry> removed, added;
    if (i < old.size() && !(removed = parseLine<Entry>(old[i], parse))) return std::nullopt;
    if (j < now.size() && !(added = parseNew(j))) return std::nullopt;
    if (removed && (!added || *removed < *added)) {
      delta.removed.push_back(*removed);
      ++i;
      continue;
    }
    if (removed && *removed == *added) { // the same entry, written otherwise
      ++i, ++j;
      continue;
    }
    if (j > 0) {
      auto previous = parseNew(j - 1);
      if (!previous || !(*previous < *added)) return std::nullopt;
    }
    if (j + 1 < now.size()) {
      auto next = parseNew(j + 1);
      if (!next || !(*added < *next)) return std::nullopt;
    }
    delta.added.push_back(*added);
    ++j;
  }
  return delta;
}

} // namespace

std::optional<EntryDelta<PolicyEntry>> policyTableDelta(std::string_view before,
                                                        std::string_view after) {
  return lineDelta<PolicyEntry>(before, after, policyEntryFromJson);
}

std::optional<EntryDelta<IpcacheEntry>> ipcacheDelta(std::string_view before,
                                                     std::string_view after) {
  return lineDelta<IpcacheEntry>(before, after, ipcacheEntryFromJson);
}

std::optional<std::string_view> entriesPart(std::string_view text) {
  auto lines = entryLines(text);
  if (!lines) return std::nullopt;
  return text.substr(0, lines->end);
}

std::optional<std::vector<std::string_view>> arrayLines(std::string_view text,
                                                        std::string_view key) {
  auto lines = entryLines(text, key);
  if (!lines) return std::nullopt;
  return std::move(lines->lines);
}

std::optional<PrefixLengths> ipcachePrefixLengths(std::string_view text) {
  constexpr std::string_view kPrefix = "\"prefix\": \"";
  auto lines = entryLines(text);
  if (!lines) return std::nullopt;
  std::set<uint8_t> ipv4, ipv6;
  for (auto line : lines->lines) {
    const auto start = line.find(kPrefix);
    if (start == std::string_view::npos) return std::nullopt;
    const auto prefix = line.substr(start + kPrefix.size());
    const auto end = prefix.find('"');
    const auto slash = prefix.rfind('/', end);
    if (end == std::string_view::npos || slash == std::string_view::npos || end - slash < 2 ||
        end - slash > 4)
      return std::nullopt;
    unsigned length = 0;
    for (char c : prefix.substr(slash + 1, end - slash - 1)) {
      if (c < '0' || c > '9') return std::nullopt;
      length = length * 10 + unsigned(c - '0');
    }
    const bool isV6 = prefix.substr(0, slash).find(':') != std::string_view::npos;
    if (length > (isV6 ? 128u : 32u)) return std::nullopt;
    (isV6 ? ipv6 : ipv4).insert(static_cast<uint8_t>(length));
  }
  return PrefixLengths{{ipv4.begin(), ipv4.end()}, {ipv6.begin(), ipv6.end()}};
}

} // namespace polc::artifacts
