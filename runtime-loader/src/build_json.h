// Reading the JSON files of a build output directory (rules.json,
// identities.json, tables/), for the readers of a loaded build.
#pragma once

#include "polc/artifacts/manifest.h"
#include "polc/artifacts/tables.h"
#include "polc/loader/event_decoder.h"
#include "polc/loader/loader.h"
#include "polc/support/expected.h"
#include "polc/support/files.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <vector>

namespace polc::loader {

inline Expected<nlohmann::json> readBuildJson(const std::filesystem::path& path) {
  auto text = readFile(path);
  if (!text) return Error{text.error()};
  auto json = nlohmann::json::parse(*text, nullptr, false);
  if (json.is_discarded()) return Error{path.string() + ": not valid JSON"};
  return json;
}

// The manifest of the build a node runs: its outDir, which must still hold
// the recorded revision (else its names may be another build's). `purpose`
// completes "its state names no build output to ...".
inline Expected<artifacts::Manifest> readLoadedManifest(const NodeStatus& node,
                                                        const std::string& purpose) {
  if (node.outDir.empty())
    return Error{"node " + node.node + ": its state names no build output to " + purpose};
  std::string revision;
  auto manifest = artifacts::readManifest(node.outDir, &revision);
  if (!manifest) return Error{"node " + node.node + ": " + manifest.error()};
  if (!node.revision.empty() && revision != node.revision)
    return Error{"node " + node.node + " runs revision " + node.revision.substr(0, 12) + " but " +
                 node.outDir + " now holds " + revision.substr(0, 12) +
                 ": the names in it may be another build's (load it, or point at the one loaded)"};
  return manifest;
}

// The build's rules (rules.json), as events and stats name them.
inline Expected<std::vector<DecodedRule>> readBuildRules(const std::filesystem::path& outDir) {
  auto json = readBuildJson(outDir / "rules.json");
  if (!json) return Error{json.error()};
  auto list = artifacts::ruleListFromJson(*json);
  if (!list) return Error{(outDir / "rules.json").string() + ": " + list.error()};
  std::vector<DecodedRule> rules;
  for (const auto& rule : list->rules)
    rules.push_back({rule.id, rule.policy, rule.location, rule.text,
                     rule.text.starts_with("deny") ? "deny" : "allow", rule.audit});
  return rules;
}

} // namespace polc::loader
