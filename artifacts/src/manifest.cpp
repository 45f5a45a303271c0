#include "polc/artifacts/manifest.h"

#include "polc/artifacts/digest.h"
#include "polc/artifacts/json_read.h"
#include "polc/support/interface_name.h"

#include "polc_structs.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

namespace polc::artifacts {

using nlohmann::json;

std::string dumpJson(const json& j) {
  // A string that is not UTF-8 (an input path given on the command line)
  // is written with U+FFFD for its bad bytes instead of throwing.
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
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
                           {"addresses", ep.addresses},
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
  json result{{"schema", manifest.schema},
              {"polc_version", manifest.polcVersion},
              {"cluster", manifest.cluster},
              {"inputs", manifest.inputs},
              {"nodes", nodes},
              {"files", manifest.files}};
  // Only when there are services, so that other builds stay as they were.
  if (!manifest.services.empty()) result["services"] = manifest.services;
  return result;
}

namespace {

// What a load trusts of the manifest beyond its JSON types: values in the
// ranges the kernel's layouts hold (never truncated into them), names the
// kernel accepts, paths that stay relative. (Where the paths lead is
// checked as each file is opened: ManifestVerification.)
void checkEndpoint(const EndpointArtifacts& ep) {
  auto refuse = [&](const std::string& why) {
    throw JsonReadError("endpoint " + ep.name + ": " + why);
  };
  if (!isInterfaceName(ep.interface))
    refuse("\"" + ep.interface + "\" is not an interface name (1 to 15 characters, no '/', ':' " +
           "or spaces)");
  if (ep.identity < POLC_IDENTITY_FIRST_ENDPOINT || ep.identity >= POLC_IDENTITY_FIRST_PREFIX)
    refuse("identity " + std::to_string(ep.identity) + " is not an endpoint identity (" +
           std::to_string(POLC_IDENTITY_FIRST_ENDPOINT) + " to " +
           std::to_string(POLC_IDENTITY_FIRST_PREFIX - 1) + ")");
  for (const auto& address : ep.addresses) {
    in6_addr parsed{};
    if (inet_pton(AF_INET, address.c_str(), &parsed) != 1 &&
        inet_pton(AF_INET6, address.c_str(), &parsed) != 1)
      refuse("\"" + address + "\" is not an IPv4 or IPv6 address");
  }
}

void checkRelativePath(const std::string& path, const std::string& what) {
  if (path.empty() || path.front() == '/' || path.find('\0') != std::string::npos)
    throw JsonReadError(what + " \"" + path + "\" is not a relative path");
}

bool isSha256Hex(std::string_view digest) {
  return digest.size() == 64 && std::all_of(digest.begin(), digest.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Manifest manifestFrom(JsonRead::Element j) {
  using R = JsonRead;
  Manifest manifest;
  manifest.schema = R::integerAt<int>(j, "schema");
  manifest.polcVersion = R::stringAt(j, "polc_version");
  manifest.cluster = R::stringAt(j, "cluster");
  manifest.inputs = R::stringMapAt(j, "inputs");
  if (R::has(j, "services")) {
    manifest.services = R::stringAt(j, "services");
    checkRelativePath(manifest.services, "services");
  }
  for (auto n : R::arrayAt(j, "nodes")) {
    NodeArtifacts node;
    node.name = R::stringAt(n, "name");
    node.address = R::stringAt(n, "address");
    node.ipcache = R::stringAt(n, "ipcache");
    for (auto e : R::arrayAt(n, "endpoints")) {
      EndpointArtifacts ep;
      ep.name = R::stringAt(e, "name");
      ep.interface = R::stringAt(e, "interface");
      ep.identity = R::integerAt<uint32_t>(e, "identity");
      if (R::has(e, "addresses")) ep.addresses = R::stringsAt(e, "addresses");
      if (auto object = R::at(e, "object"); !object.is_null())
        ep.object = R::string(object, "object");
      for (auto p : R::arrayAt(e, "programs")) {
        auto name = R::stringAt(p, "name");
        if (name == kProgFromEndpoint)
          ep.fromEndpointProgram = true;
        else if (name == kProgToEndpoint)
          ep.toEndpointProgram = true;
        else
          throw JsonReadError("endpoint " + ep.name + ": unknown program \"" + name + "\"");
      }
      ep.source = R::stringAt(e, "source");
      auto tables = R::at(e, "tables");
      ep.ingressTable = R::stringAt(tables, "ingress");
      ep.egressTable = R::stringAt(tables, "egress");
      for (auto direction : R::arrayAt(e, "inline_tables")) {
        auto name = R::string(direction, "inline_tables");
        if (name == "ingress")
          ep.ingressInline = true;
        else if (name == "egress")
          ep.egressInline = true;
        else
          throw JsonReadError("endpoint " + ep.name + ": unknown inline table \"" + name + "\"");
      }
      checkEndpoint(ep);
      node.endpoints.push_back(std::move(ep));
    }
    manifest.nodes.push_back(std::move(node));
  }
  manifest.files = R::stringMapAt(j, "files");
  for (const auto& [path, digest] : manifest.files) {
    checkRelativePath(path, "file");
    if (!isSha256Hex(digest))
      throw JsonReadError("file " + path + ": \"" + digest + "\" is not a SHA-256 digest");
  }
  return manifest;
}

} // namespace

namespace {

Expected<Manifest> manifestFromDocument(Expected<JsonRead::Element> root) {
  if (!root) return Error{root.error()};
  try {
    if (int schema = JsonRead::integerAt<int>(*root, "schema");
        schema < kOldestReadableManifestSchema || schema > kManifestSchema)
      return Error{"manifest schema " + std::to_string(schema) +
                   " is not supported (this polc reads schemas " +
                   std::to_string(kOldestReadableManifestSchema) + " to " +
                   std::to_string(kManifestSchema) + ")"};
    return manifestFrom(*root);
  } catch (const JsonReadError& e) {
    return Error{std::string("malformed manifest: ") + e.what()};
  }
}

} // namespace

Expected<Manifest> manifestFromText(std::string_view text) {
  JsonRead reader;
  return manifestFromDocument(reader.parse(text));
}

Expected<Manifest> manifestFromJson(const json& j) {
  return manifestFromText(j.dump(-1, ' ', false, json::error_handler_t::replace));
}

Expected<Manifest> readManifest(const std::filesystem::path& outDir, std::string* sha256) {
  auto path = outDir / "manifest.json";
  auto text = readFile(path);
  if (!text) return Error{text.error()};
  if (sha256) *sha256 = sha256Hex(*text);
  JsonRead reader;
  auto manifest = manifestFromDocument(reader.parse(*text)); // in place
  if (!manifest) return Error{path.string() + ": " + manifest.error()};
  return manifest;
}

Status verifyManifest(const std::filesystem::path& outDir, const Manifest& manifest) {
  ManifestVerification verification(outDir, manifest);
  verification.work();
  return verification.result();
}

ManifestVerification::ManifestVerification(const std::filesystem::path& outDir,
                                           const Manifest& manifest,
                                           const std::set<std::string>& keep)
    : outDir_(outDir), manifest_(manifest),
      directory_(::open(outDir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)),
      directoryError_(directory_ < 0 ? errno : 0) {
  files_.reserve(manifest.files.size());
  for (const auto& file : manifest.files) {
    files_.push_back(&file);
    keep_.push_back(keep.contains(file.first));
  }
  contents_.resize(files_.size());
  problems_.resize(files_.size());
}

ManifestVerification::~ManifestVerification() {
  if (directory_ >= 0) ::close(directory_);
}

void ManifestVerification::work() {
  for (size_t i = next_++; i < files_.size(); i = next_++) {
    const auto& [path, expected] = *files_[i];
    if (directory_ < 0) {
      problems_[i] = path + ": missing (cannot open " + outDir_.string() + ": " +
                     std::strerror(directoryError_) + ")";
      continue;
    }
    auto bytes = readFileBeneath(directory_, path, outDir_ / path);
    if (!bytes) {
      problems_[i] = path + (missingBeneath(directory_, path) ? ": missing (" + bytes.error() + ")"
                                                              : ": " + bytes.error());
      continue;
    }
    auto actual = sha256Hex(*bytes);
    if (actual != expected) {
      problems_[i] = path + ": digest mismatch (manifest " + expected.substr(0, 12) + "…, file " +
                     actual.substr(0, 12) + "…)";
      continue;
    }
    if (keep_[i]) contents_[i] = std::move(*bytes);
  }
}

const std::string* ManifestVerification::verifiedBytes(const std::string& path) const {
  auto it =
      std::lower_bound(files_.begin(), files_.end(), path,
                       [](const auto* file, const std::string& p) { return file->first < p; });
  if (it == files_.end() || (*it)->first != path) return nullptr;
  const auto i = static_cast<size_t>(it - files_.begin());
  return keep_[i] && problems_[i].empty() ? &contents_[i] : nullptr;
}

Status ManifestVerification::result() const {
  std::vector<std::string> problems;
  for (const auto& problem : problems_)
    if (!problem.empty()) problems.push_back(problem);
  std::set<std::string> unlisted;
  auto check = [&](const std::string& path) {
    if (!manifest_.files.contains(path)) unlisted.insert(path);
  };
  for (const auto& node : manifest_.nodes) {
    check(node.ipcache);
    for (const auto& ep : node.endpoints) {
      if (ep.object) check(*ep.object);
      check(ep.ingressTable);
      check(ep.egressTable);
    }
  }
  for (const auto& path : unlisted) problems.push_back(path + ": referenced but has no digest");
  if (problems.empty()) return okStatus();
  std::string message = "artifacts in " + outDir_.string() + " do not match manifest.json:";
  for (const auto& p : problems) message += "\n  " + p;
  return Error{message};
}

} // namespace polc::artifacts
