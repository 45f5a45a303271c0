// manifest.json: the index of a build output directory. It names every file
// with its SHA-256, and per node and endpoint what to load and attach.
// Paths are relative to the output directory, with '/' separators.
#pragma once

#include "polc/support/expected.h"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace polc::artifacts {

// 2: generated C under sources/, shared between endpoints; the loader sets
// the endpoint identity in the object's .rodata (a schema-1 loader would not);
// input digests.
inline constexpr int kManifestSchema = 2;

// Names fixed by the datapath (bpf/lib) that the loader looks up.
inline constexpr const char* kProgFromEndpoint = "polc_from_ep"; // tc ingress hook
inline constexpr const char* kProgToEndpoint = "polc_to_ep";     // tc egress hook
inline constexpr const char* kMapIpcache = "polc_ipcache";
inline constexpr const char* kMapIpcacheLengths = "polc_ipcache_lengths"; // the lengths it holds
inline constexpr const char* kMapConntrack = "polc_ct";
inline constexpr const char* kMapPolicyIngress = "polc_policy_in";
inline constexpr const char* kMapPolicyEgress = "polc_policy_eg";
// Read-only config (.rodata) that the loader sets before loading an object:
// the endpoint's identity, from the manifest (EndpointArtifacts::identity).
inline constexpr const char* kConfigEndpointIdentity = "polc_endpoint_identity";

struct EndpointArtifacts {
  std::string name;
  std::string interface; // host-side interface the programs attach to
  uint32_t identity = 0;
  std::optional<std::string> object; // BPF object; none = nothing to attach
  bool fromEndpointProgram = false;  // attach kProgFromEndpoint at tc ingress
  bool toEndpointProgram = false;    // attach kProgToEndpoint at tc egress
  std::string source;                // generated C
  std::string ingressTable;          // PolicyTable JSON
  std::string egressTable;
  bool operator==(const EndpointArtifacts&) const = default;
};

struct NodeArtifacts {
  std::string name;
  std::string address;
  std::string ipcache;                      // Ipcache JSON
  std::vector<EndpointArtifacts> endpoints; // sorted by name
  bool operator==(const NodeArtifacts&) const = default;
};

struct Manifest {
  int schema = kManifestSchema;
  std::string polcVersion;
  std::string cluster;
  // The files the build was made from (policy files with their includes,
  // the topology), path as given -> sha256. Not part of the directory.
  std::map<std::string, std::string> inputs;
  std::vector<NodeArtifacts> nodes;         // sorted by name
  std::map<std::string, std::string> files; // path -> sha256, every file but the manifest
  bool operator==(const Manifest&) const = default;

  const NodeArtifacts* findNode(std::string_view name) const;
};

nlohmann::json toJson(const Manifest&);
Expected<Manifest> manifestFromJson(const nlohmann::json&);

// Reads OUT/manifest.json.
Expected<Manifest> readManifest(const std::filesystem::path& outDir);
// Checks every listed file against its digest; lists every mismatch and
// missing file, and files that the manifest references but does not list.
Status verifyManifest(const std::filesystem::path& outDir, const Manifest&);

// Serializes JSON the same way everywhere: 2-space indent, sorted keys, final newline.
std::string dumpJson(const nlohmann::json&);

} // namespace polc::artifacts
