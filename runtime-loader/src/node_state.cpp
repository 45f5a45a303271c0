#include "node_state.h"

#include "json_writer.h"

#include "polc/artifacts/digest.h"
#include "polc/artifacts/json_read.h"
#include "polc/artifacts/manifest.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace polc::runtime {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path stateFile(const fs::path& stateDir, const std::string& node) {
  return stateDir / (node + ".json");
}

namespace {

using artifacts::JsonRead;

NodeState nodeStateFrom(JsonRead::Element j) {
  using R = JsonRead;
  NodeState state;
  state.node = R::stringAt(j, "node");
  state.netns = R::stringAt(j, "netns");
  state.pinRoot = R::stringAt(j, "pin_root");
  state.revision = R::string(j, "revision", "");
  state.outDir = R::string(j, "out_dir", "");
  state.loadedUnixNs =
      R::has(j, "loaded_unix_ns") ? R::integerAt<uint64_t>(j, "loaded_unix_ns") : 0;
  for (auto a : R::arrayAt(j, "attachments"))
    state.attachments.push_back(
        {R::stringAt(a, "endpoint"), R::stringAt(a, "interface"), R::integerAt<int>(a, "ifindex"),
         R::stringAt(a, "hook"), R::integerAt<uint32_t>(a, "handle"),
         R::integerAt<uint32_t>(a, "priority"), R::stringAt(a, "program"),
         R::integerAt<uint32_t>(a, "program_id"), R::boolAt(a, "qdisc_created_by_polc")});
  state.pins = R::stringsAt(j, "pins");
  // Written sorted and unique; a file edited by hand is made so here, once,
  // so that a load can merge against the list.
  if (!std::is_sorted(state.pins.begin(), state.pins.end()) ||
      std::adjacent_find(state.pins.begin(), state.pins.end()) != state.pins.end()) {
    std::sort(state.pins.begin(), state.pins.end());
    state.pins.erase(std::unique(state.pins.begin(), state.pins.end()), state.pins.end());
  }
  if (R::has(j, "map_entries"))
    for (auto [pin, entries] : R::objectAt(j, "map_entries"))
      state.mapEntries.emplace_hint(state.mapEntries.end(), pin, R::unsignedOf(entries, pin));
  if (R::has(j, "table_sha256")) state.tableSha256 = R::stringMapAt(j, "table_sha256");
  if (R::has(j, "endpoints"))
    for (auto [name, e] : R::objectAt(j, "endpoints"))
      state.endpoints.emplace_hint(
          state.endpoints.end(), name,
          EndpointRecord{R::stringAt(e, "interface"), R::integerAt<int>(e, "ifindex"),
                         R::integerAt<uint32_t>(e, "identity"), R::stringAt(e, "object_sha256"),
                         R::stringsAt(e, "programs"),
                         R::has(e, "inline_tables") ? R::stringsAt(e, "inline_tables")
                                                    : std::vector<std::string>{}});
  return state;
}

PendingLoad pendingLoadFrom(JsonRead::Element p) {
  using R = JsonRead;
  PendingLoad pending;
  pending.revision = R::stringAt(p, "revision");
  pending.outDir = R::stringAt(p, "out_dir");
  pending.phase = R::stringAt(p, "phase");
  pending.pins = R::stringsAt(p, "pins");
  if (R::has(p, "hooks"))
    for (auto h : R::arrayAt(p, "hooks"))
      pending.hooks.push_back({R::stringAt(h, "interface"), R::integerAt<int>(h, "ifindex"),
                               R::stringAt(h, "hook"), R::boolAt(h, "qdisc_created_by_polc")});
  pending.netns = R::string(p, "netns", "");
  pending.pinRoot = R::string(p, "pin_root", "");
  return pending;
}

Error malformed(const fs::path& which, const std::string& why) {
  return Error{"loader state " + which.string() + " is malformed: " + why};
}

// A file that is not there reads as nothing; one that is there but cannot be
// read (a directory, garbage) is an error.
bool absent(const fs::path& file) {
  std::error_code ec;
  return !fs::exists(fs::symlink_status(file, ec));
}

// A JSON record of the state dir: nullopt when the file is not there,
// an error naming the file when it cannot be read or parsed.
template <typename T, typename From>
Expected<std::optional<T>> readRecord(const fs::path& file, From from) {
  auto text = polc::readFile(file);
  if (!text) {
    if (absent(file)) return std::optional<T>{};
    return Error{text.error()};
  }
  JsonRead reader;
  auto root = reader.parse(*text);
  if (!root) return malformed(file, root.error());
  try {
    return std::optional<T>(from(*root));
  } catch (const artifacts::JsonReadError& e) {
    return malformed(file, e.what());
  }
}

Expected<std::optional<NodeState>> readStateFile(const fs::path& file) {
  return readRecord<NodeState>(file, nodeStateFrom);
}

Expected<std::optional<PendingLoad>> readJournal(const fs::path& journal) {
  return readRecord<PendingLoad>(journal, pendingLoadFrom);
}

} // namespace

std::string unreadableStateHint(const std::string& node) {
  return "`polc unload --force --node " + node +
         "` removes what polc loaded for the node and the broken state (docs/cli.md)";
}

Expected<std::optional<NodeState>> readNodeState(const fs::path& file) {
  const auto node = file.stem().string();
  auto state = readStateFile(file);
  if (!state) return Error{state.error() + "; " + unreadableStateHint(node)};
  auto journal = readJournal(pendingFile(file.parent_path(), node));
  if (!journal) return Error{journal.error() + "; " + unreadableStateHint(node)};
  if (!*state) {
    if (!*journal) return std::optional<NodeState>{};
    // A journal whose state file is lost: the journal says where the load went.
    NodeState fromJournal;
    fromJournal.node = node;
    fromJournal.netns = (*journal)->netns;
    fromJournal.pinRoot = (*journal)->pinRoot;
    fromJournal.pending = std::move(*journal);
    return std::optional<NodeState>(std::move(fromJournal));
  }
  (*state)->pending = std::move(*journal);
  return state;
}

NodeRecords readNodeRecords(const fs::path& stateDir, const std::string& node) {
  NodeRecords records;
  if (auto state = readStateFile(stateFile(stateDir, node)))
    records.state = std::move(*state);
  else
    records.stateError = state.error();
  if (auto journal = readJournal(pendingFile(stateDir, node)))
    records.journal = std::move(*journal);
  else
    records.journalError = journal.error();
  return records;
}

Status writeNodeState(const fs::path& stateDir, const NodeState& state) {
  std::error_code ec;
  fs::create_directories(stateDir, ec);
  if (ec) return Error{"cannot create state directory " + stateDir.string() + ": " + ec.message()};
  // Recorded sorted and unique; a load hands them over so (no copy then).
  std::vector<std::string> sortedPins;
  const auto* pins = &state.pins;
  if (!std::is_sorted(pins->begin(), pins->end()) ||
      std::adjacent_find(pins->begin(), pins->end()) != pins->end()) {
    sortedPins = state.pins;
    std::sort(sortedPins.begin(), sortedPins.end());
    sortedPins.erase(std::unique(sortedPins.begin(), sortedPins.end()), sortedPins.end());
    pins = &sortedPins;
  }
  auto strings = [](JsonWriter& out, const std::vector<std::string>& values) {
    out.beginArray();
    for (const auto& value : values) out.value(value);
    out.endArray();
  };
  JsonWriter out;
  out.text().reserve(512 * (state.attachments.size() + state.endpoints.size()) + 4096);
  out.beginObject();
  out.key("node").value(state.node);
  out.key("netns").value(state.netns);
  out.key("pin_root").value(state.pinRoot);
  out.key("revision").value(state.revision);
  out.key("out_dir").value(state.outDir);
  out.key("loaded_unix_ns").value(state.loadedUnixNs);
  out.key("attachments").beginArray();
  for (const auto& a : state.attachments) {
    out.beginObject();
    out.key("endpoint").value(a.endpoint);
    out.key("interface").value(a.interface);
    out.key("ifindex").value(a.ifindex);
    out.key("hook").value(a.hook);
    out.key("handle").value(a.handle);
    out.key("priority").value(a.priority);
    out.key("program").value(a.program);
    out.key("program_id").value(a.programId);
    out.key("qdisc_created_by_polc").value(a.qdiscCreatedByPolc);
    out.endObject();
  }
  out.endArray();
  out.key("pins");
  strings(out, *pins);
  out.key("map_entries").beginObject();
  for (const auto& [pin, entries] : state.mapEntries) out.key(pin).value(entries);
  out.endObject();
  out.key("table_sha256").beginObject();
  for (const auto& [pin, sha256] : state.tableSha256) out.key(pin).value(sha256);
  out.endObject();
  out.key("endpoints").beginObject();
  for (const auto& [name, e] : state.endpoints) {
    out.key(name).beginObject();
    out.key("interface").value(e.interface);
    out.key("ifindex").value(e.ifindex);
    out.key("identity").value(e.identity);
    out.key("object_sha256").value(e.objectSha256);
    out.key("programs");
    strings(out, e.programs);
    out.key("inline_tables");
    strings(out, e.inlineTables);
    out.endObject();
  }
  out.endObject();
  out.endObject();
  out.text() += '\n';
  return polc::writeFile(stateFile(stateDir, state.node), out.text());
}

fs::path pendingFile(const fs::path& stateDir, const std::string& node) {
  return stateDir / (node + ".pending");
}

Status writePendingLoad(const fs::path& stateDir, const std::string& node,
                        const PendingLoad& pending) {
  auto hooks = json::array();
  for (const auto& h : pending.hooks)
    hooks.push_back({{"interface", h.interface},
                     {"ifindex", h.ifindex},
                     {"hook", h.hook},
                     {"qdisc_created_by_polc", h.qdiscCreatedByPolc}});
  json j = {{"revision", pending.revision}, {"out_dir", pending.outDir}, {"phase", pending.phase},
            {"pins", pending.pins},         {"hooks", std::move(hooks)}, {"netns", pending.netns},
            {"pin_root", pending.pinRoot}};
  return polc::writeFile(pendingFile(stateDir, node),
                         j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
}

void removePendingLoad(const fs::path& stateDir, const std::string& node) {
  std::error_code ec;
  fs::remove(pendingFile(stateDir, node), ec);
}

std::vector<std::string> nodesWithState(const fs::path& stateDir) {
  std::vector<std::string> nodes;
  std::error_code ec;
  for (fs::directory_iterator it(stateDir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto extension = it->path().extension();
    if (extension == ".json" || extension == ".pending")
      nodes.push_back(it->path().stem().string());
  }
  std::sort(nodes.begin(), nodes.end());
  nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
  return nodes;
}

} // namespace polc::runtime
