#include "node_state.h"

#include "json_writer.h"

#include "polc/artifacts/digest.h"
#include "polc/artifacts/manifest.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace polc::runtime {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path stateFile(const fs::path& stateDir, const std::string& node) {
  return stateDir / (node + ".json");
}

Expected<std::optional<NodeState>> readNodeState(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::optional<NodeState>{};
  auto text = polc::readFile(file);
  if (!text) return Error{text.error()};
  try {
    auto j = json::parse(*text);
    NodeState state;
    state.node = j.at("node").get<std::string>();
    state.netns = j.at("netns").get<std::string>();
    state.pinRoot = j.at("pin_root").get<std::string>();
    state.revision = j.value("revision", "");
    state.outDir = j.value("out_dir", "");
    for (const auto& a : j.at("attachments")) {
      state.attachments.push_back(
          {a.at("endpoint").get<std::string>(), a.at("interface").get<std::string>(),
           a.at("ifindex").get<int>(), a.at("hook").get<std::string>(),
           a.at("handle").get<uint32_t>(), a.at("priority").get<uint32_t>(),
           a.at("program").get<std::string>(), a.at("program_id").get<uint32_t>(),
           a.at("qdisc_created_by_polc").get<bool>()});
    }
    state.pins = j.at("pins").get<std::vector<std::string>>();
    if (j.contains("map_entries"))
      state.mapEntries = j.at("map_entries").get<std::map<std::string, uint64_t>>();
    if (j.contains("table_sha256"))
      state.tableSha256 = j.at("table_sha256").get<std::map<std::string, std::string>>();
    if (j.contains("endpoints"))
      for (const auto& [name, e] : j.at("endpoints").items())
        state.endpoints[name] = {e.at("interface").get<std::string>(),
                                 e.at("ifindex").get<int>(),
                                 e.at("identity").get<uint32_t>(),
                                 e.at("object_sha256").get<std::string>(),
                                 e.at("programs").get<std::vector<std::string>>(),
                                 e.value("inline_tables", std::vector<std::string>{})};
    auto journal = file;
    journal.replace_extension(".pending");
    if (fs::exists(journal, ec)) {
      auto pendingText = polc::readFile(journal);
      if (!pendingText) return Error{pendingText.error()};
      auto p = json::parse(*pendingText);
      state.pending = PendingLoad{
          p.at("revision").get<std::string>(), p.at("out_dir").get<std::string>(),
          p.at("phase").get<std::string>(), p.at("pins").get<std::vector<std::string>>()};
    }
    return std::optional<NodeState>(std::move(state));
  } catch (const json::exception& e) {
    return Error{"loader state " + file.string() + " is malformed: " + e.what()};
  }
}

Status writeNodeState(const fs::path& stateDir, const NodeState& state) {
  std::error_code ec;
  fs::create_directories(stateDir, ec);
  if (ec) return Error{"cannot create state directory " + stateDir.string() + ": " + ec.message()};
  auto pins = state.pins;
  std::sort(pins.begin(), pins.end());
  pins.erase(std::unique(pins.begin(), pins.end()), pins.end());
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
  strings(out, pins);
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
  json j = {{"revision", pending.revision},
            {"out_dir", pending.outDir},
            {"phase", pending.phase},
            {"pins", pending.pins}};
  return polc::writeFile(pendingFile(stateDir, node), j.dump() + "\n");
}

void removePendingLoad(const fs::path& stateDir, const std::string& node) {
  std::error_code ec;
  fs::remove(pendingFile(stateDir, node), ec);
}

std::vector<std::string> nodesWithState(const fs::path& stateDir) {
  std::vector<std::string> nodes;
  std::error_code ec;
  for (fs::directory_iterator it(stateDir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".json" && it->is_regular_file(ec))
      nodes.push_back(it->path().stem().string());
  }
  std::sort(nodes.begin(), nodes.end());
  return nodes;
}

} // namespace polc::runtime
