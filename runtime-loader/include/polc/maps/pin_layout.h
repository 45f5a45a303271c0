// Where polc pins its maps and programs below a pin root (see
// polc/loader/loader.h, "Pin layout"): what a reader of pinned maps (status,
// and the monitor, stats and audit to come) opens.
#pragma once

#include "polc/artifacts/manifest.h"
#include "polc/artifacts/tables.h"

#include <filesystem>
#include <string>

namespace polc::maps {

// The suffix of a staged pin: the new revision's map or program, pinned
// beside the live one until the load commits (bpffs refuses '.' in names).
inline constexpr const char* kStagedSuffix = "-next";

// <node>/<name> (a node's shared map: ipcache, conntrack), or
// <node>/<endpoint>/<name> (an endpoint's policy map or program): relative
// to the pin root.
inline std::string relativePin(const std::string& node, const std::string& endpoint,
                               const std::string& name) {
  return endpoint.empty() ? node + "/" + name : node + "/" + endpoint + "/" + name;
}

inline std::filesystem::path ipcachePin(const std::filesystem::path& pinRoot,
                                        const std::string& node) {
  return pinRoot / relativePin(node, "", artifacts::kMapIpcache);
}

inline std::filesystem::path ipcacheLengthsPin(const std::filesystem::path& pinRoot,
                                               const std::string& node) {
  return pinRoot / relativePin(node, "", artifacts::kMapIpcacheLengths);
}

inline std::filesystem::path policyPin(const std::filesystem::path& pinRoot,
                                       const std::string& node, const std::string& endpoint,
                                       artifacts::Direction direction) {
  return pinRoot / relativePin(node, endpoint,
                               direction == artifacts::Direction::Ingress
                                   ? artifacts::kMapPolicyIngress
                                   : artifacts::kMapPolicyEgress);
}

} // namespace polc::maps
