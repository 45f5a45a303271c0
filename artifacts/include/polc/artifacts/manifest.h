// manifest.json: the index of a build output directory. It names every file
// with its SHA-256, and per node and endpoint what to load and attach.
// Paths are relative to the output directory, with '/' separators.
#pragma once

#include "polc/support/expected.h"

#include <nlohmann/json_fwd.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace polc::artifacts {

// 2: generated C under sources/, shared between endpoints; the loader sets
// the endpoint identity in the object's .rodata (a schema-1 loader would not);
// input digests.
// 3: inline_tables: tables compiled in as code, whose entries the loader
// sets in the object's .rodata (a schema-2 loader would leave them empty).
// 4: policy tables under tables/, named by content and shared by the
// endpoints whose tables are the same bytes; rules in rules.json. A schema-3
// build (a table per endpoint, naming it and its rules) still reads.
inline constexpr int kManifestSchema = 4;
inline constexpr int kOldestReadableManifestSchema = 3;

// Names fixed by the datapath (bpf/lib) that the loader looks up.
inline constexpr const char* kProgFromEndpoint = "polc_from_ep"; // tc ingress hook
inline constexpr const char* kProgToEndpoint = "polc_to_ep";     // tc egress hook
inline constexpr const char* kMapIpcache = "polc_ipcache";
inline constexpr const char* kMapIpcacheLengths = "polc_ipcache_lengths"; // the lengths it holds
inline constexpr const char* kMapConntrack = "polc_ct";
inline constexpr const char* kMapPolicyEpoch = "polc_epoch"; // bumped by every load
// Verdict events and what the monitor reports (bpf/lib/polc_monitor.h).
inline constexpr const char* kMapEvents = "polc_events"; // ring buffer
inline constexpr const char* kMapMonitorConfig = "polc_monitor_config";
inline constexpr const char* kMapMonitorEndpoints = "polc_monitor_endpoints";
inline constexpr const char* kMapEventStats = "polc_event_stats";
// Packets and bytes per endpoint, rule and reason (bpf/lib/polc_counters.h).
inline constexpr const char* kMapCounters = "polc_counters";
// Service translation (bpf/lib/polc_service.h).
inline constexpr const char* kMapServices = "polc_services";
inline constexpr const char* kMapMaglev = "polc_maglev";
inline constexpr const char* kMapBackends = "polc_backends";
inline constexpr const char* kMapLbNat = "polc_lb_nat";
inline constexpr const char* kMapLbAffinity = "polc_lb_affinity";
// The maps a node's endpoints share, pinned once per node (the first four
// in this order: the loader indexes them).
inline constexpr std::array<const char*, 14> kNodeMaps = {
    kMapIpcache,       kMapConntrack,        kMapIpcacheLengths, kMapPolicyEpoch, kMapEvents,
    kMapMonitorConfig, kMapMonitorEndpoints, kMapEventStats,     kMapCounters,    kMapServices,
    kMapMaglev,        kMapBackends,         kMapLbNat,          kMapLbAffinity};
inline constexpr const char* kMapPolicyIngress = "polc_policy_in";
inline constexpr const char* kMapPolicyEgress = "polc_policy_eg";
// Read-only config (.rodata) that the loader sets before loading an object:
// the endpoint's identity, from the manifest (EndpointArtifacts::identity).
inline constexpr const char* kConfigEndpointIdentity = "polc_endpoint_identity";
// The slots of a table compiled in as code (EndpointArtifacts::*Inline): an
// array of struct polc_inline_entry that the loader fills from the table.
inline constexpr const char* kConfigInlineIngress = "polc_inline_policy_in";
inline constexpr const char* kConfigInlineEgress = "polc_inline_policy_eg";

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
  // The object compiles the table in as code (kConfigInline*): a change to
  // it means loading the program again, not updating its map.
  bool ingressInline = false;
  bool egressInline = false;
  // Its host addresses (IPv4, IPv6) as text: how an event names a peer
  // endpoint. Empty in a manifest written before they were listed.
  std::vector<std::string> addresses{};
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
  // The cluster's service frontends (services/service_table.h's JSON), for
  // every node; empty when no service has a vip and ports.
  std::string services;
  bool operator==(const Manifest&) const = default;

  const NodeArtifacts* findNode(std::string_view name) const;
};

nlohmann::json toJson(const Manifest&);
Expected<Manifest> manifestFromJson(const nlohmann::json&);
// The same from manifest.json's text, without building a nlohmann document
// (the loader reads a manifest of thousands of endpoints on every load).
Expected<Manifest> manifestFromText(std::string_view text);

// Reads OUT/manifest.json; `sha256`, if given, gets the digest of the very
// bytes parsed (the build's revision: the manifest lists every file's digest).
Expected<Manifest> readManifest(const std::filesystem::path& outDir, std::string* sha256 = nullptr);
// Checks every listed file against its digest; lists every mismatch and
// missing file, and files that the manifest references but does not list.
Status verifyManifest(const std::filesystem::path& outDir, const Manifest&);

// verifyManifest shared between threads: each work() hashes files not
// taken yet until none are left; result() once every work() has returned.
// (A load hashes thousands of files on a second thread while it parses, and
// the main thread joins in when it has nothing else to do.)
//
// Every file is opened below outDir with openat2(RESOLVE_BENEATH) (no
// "..", absolute path or symlink leads out), must be a regular file within
// polc::kMaxReadBytes, and is read once: the files named in `keep` stay in
// memory, so that the loader uses the very bytes that were hashed and never
// opens a path again (a file swapped after its check is never loaded).
class ManifestVerification {
public:
  // outDir and manifest must outlive the verification.
  ManifestVerification(const std::filesystem::path& outDir, const Manifest& manifest,
                       const std::set<std::string>& keep = {});
  ~ManifestVerification();
  ManifestVerification(const ManifestVerification&) = delete;
  ManifestVerification& operator=(const ManifestVerification&) = delete;

  void work();
  Status result() const;
  // After result() passed: the verified bytes of a file named in `keep`
  // (padded for in-place JSON parsing, polc::readFile), else nullptr.
  const std::string* verifiedBytes(const std::string& path) const;

private:
  const std::filesystem::path& outDir_;
  const Manifest& manifest_;
  int directory_ = -1;     // outDir_, opened once: files are opened relative to it
  int directoryError_ = 0; // errno of opening it, if that failed
  std::vector<const std::pair<const std::string, std::string>*> files_; // sorted by path
  std::vector<bool> keep_;                                              // by file
  std::vector<std::string> contents_; // by file, the bytes hashed when kept
  std::vector<std::string> problems_; // by file, "" when it matches
  std::atomic<size_t> next_{0};
};

// Serializes JSON the same way everywhere: 2-space indent, sorted keys, final
// newline; bytes that are not UTF-8 become U+FFFD (dump() would throw).
std::string dumpJson(const nlohmann::json&);

} // namespace polc::artifacts
