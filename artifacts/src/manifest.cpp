#include "polc/artifacts/manifest.h"

#include "polc/artifacts/digest.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

namespace polc::artifacts {

using nlohmann::json;

std::string dumpJson(const json& j) {
  return j.dump(2) + "\n";
}

const NodeArtifacts* Manifest::findNode(std::string_view name) const {
  auto it = std::find_if(nodes.begin(), nodes.end(), [&](const auto& n) { return n.name == name; });
  return it == nodes.end() ? nullptr : &*it;
}

json toJson(const Manifest& manifest) {
  json nodes = json::array();
  for (const auto& node : manifest.nodes) {
    json endpoints = json::array();
    for (const auto& ep : node.endpoints) {
      json programs = json::array();
      if (ep.fromEndpointProgram)
        programs.push_back({{"name", kProgFromEndpoint}, {"hook", "tc-ingress"}});
      if (ep.toEndpointProgram)
        programs.push_back({{"name", kProgToEndpoint}, {"hook", "tc-egress"}});
      json inlineTables = json::array();
      if (ep.ingressInline) inlineTables.push_back("ingress");
      if (ep.egressInline) inlineTables.push_back("egress");
      endpoints.push_back({{"name", ep.name},
                           {"interface", ep.interface},
                           {"identity", ep.identity},
                           {"inline_tables", inlineTables},
                           {"object", ep.object ? json(*ep.object) : json(nullptr)},
                           {"programs", programs},
                           {"source", ep.source},
                           {"tables", {{"ingress", ep.ingressTable}, {"egress", ep.egressTable}}}});
    }
    nodes.push_back({{"name", node.name},
                     {"address", node.address},
                     {"ipcache", node.ipcache},
                     {"endpoints", endpoints}});
  }
  return {{"schema", manifest.schema},
          {"polc_version", manifest.polcVersion},
          {"cluster", manifest.cluster},
          {"inputs", manifest.inputs},
          {"nodes", nodes},
          {"files", manifest.files}};
}

Expected<Manifest> manifestFromJson(const json& j) {
  try {
    Manifest manifest;
    manifest.schema = j.at("schema").get<int>();
    if (manifest.schema != kManifestSchema)
      return Error{"manifest schema " + std::to_string(manifest.schema) +
                   " is not supported (this polc reads schema " + std::to_string(kManifestSchema) +
                   ")"};
    manifest.polcVersion = j.at("polc_version").get<std::string>();
    manifest.cluster = j.at("cluster").get<std::string>();
    manifest.inputs = j.at("inputs").get<std::map<std::string, std::string>>();
    for (const auto& n : j.at("nodes")) {
      NodeArtifacts node;
      node.name = n.at("name").get<std::string>();
      node.address = n.at("address").get<std::string>();
      node.ipcache = n.at("ipcache").get<std::string>();
      for (const auto& e : n.at("endpoints")) {
        EndpointArtifacts ep;
        ep.name = e.at("name").get<std::string>();
        ep.interface = e.at("interface").get<std::string>();
        ep.identity = e.at("identity").get<uint32_t>();
        if (!e.at("object").is_null()) ep.object = e.at("object").get<std::string>();
        for (const auto& p : e.at("programs")) {
          auto name = p.at("name").get<std::string>();
          if (name == kProgFromEndpoint)
            ep.fromEndpointProgram = true;
          else if (name == kProgToEndpoint)
            ep.toEndpointProgram = true;
          else
            return Error{"endpoint " + ep.name + ": unknown program \"" + name + "\""};
        }
        ep.source = e.at("source").get<std::string>();
        ep.ingressTable = e.at("tables").at("ingress").get<std::string>();
        ep.egressTable = e.at("tables").at("egress").get<std::string>();
        for (const auto& direction : e.at("inline_tables")) {
          auto name = direction.get<std::string>();
          if (name == "ingress")
            ep.ingressInline = true;
          else if (name == "egress")
            ep.egressInline = true;
          else
            return Error{"endpoint " + ep.name + ": unknown inline table \"" + name + "\""};
        }
        node.endpoints.push_back(std::move(ep));
      }
      manifest.nodes.push_back(std::move(node));
    }
    manifest.files = j.at("files").get<std::map<std::string, std::string>>();
    return manifest;
  } catch (const json::exception& e) {
    return Error{std::string("malformed manifest: ") + e.what()};
  }
}

Expected<Manifest> readManifest(const std::filesystem::path& outDir) {
  auto path = outDir / "manifest.json";
  auto text = readFile(path);
  if (!text) return Error{text.error()};
  auto parsed = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return Error{path.string() + ": not valid JSON"};
  auto manifest = manifestFromJson(parsed);
  if (!manifest) return Error{path.string() + ": " + manifest.error()};
  return manifest;
}

Status verifyManifest(const std::filesystem::path& outDir, const Manifest& manifest) {
  std::vector<std::string> problems;
  for (const auto& [path, expected] : manifest.files) {
    if (path.find("..") != std::string::npos || (!path.empty() && path[0] == '/')) {
      problems.push_back(path + ": path escapes the output directory");
      continue;
    }
    auto actual = sha256OfFile(outDir / path);
    if (!actual)
      problems.push_back(path + ": missing (" + actual.error() + ")");
    else if (*actual != expected)
      problems.push_back(path + ": digest mismatch (manifest " + expected.substr(0, 12) +
                         "…, file " + actual->substr(0, 12) + "…)");
  }
  std::set<std::string> referenced;
  for (const auto& node : manifest.nodes) {
    referenced.insert(node.ipcache);
    for (const auto& ep : node.endpoints) {
      if (ep.object) referenced.insert(*ep.object);
      referenced.insert(ep.ingressTable);
      referenced.insert(ep.egressTable);
    }
  }
  for (const auto& path : referenced)
    if (!manifest.files.contains(path)) problems.push_back(path + ": referenced but has no digest");
  if (problems.empty()) return okStatus();
  std::string message = "artifacts in " + outDir.string() + " do not match manifest.json:";
  for (const auto& p : problems) message += "\n  " + p;
  return Error{message};
}

} // namespace polc::artifacts
