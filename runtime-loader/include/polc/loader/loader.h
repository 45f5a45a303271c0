// The loader: takes a build output directory (never .pol or YAML) and makes
// the kernel enforce one node's part of it. Behind an interface so the
// logic above it can be tested with a fake.
#pragma once

#include "polc/support/expected.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace polc::loader {

// polc's tc filters: a fixed handle and priority on the clsact hooks, so that
// a reload replaces them in place and unload removes exactly these.
inline constexpr uint32_t kTcFilterHandle = 0x504c; // "PL"
inline constexpr uint32_t kTcFilterPriority = 0xc0;

// Pin layout below Placement::pinRoot:
//   <node>/polc_ipcache, <node>/polc_ct               shared by the node's endpoints
//   <node>/<endpoint>/polc_policy_in|polc_policy_eg   per endpoint
//   <node>/<endpoint>/polc_from_ep|polc_to_ep         the attached programs
// State: <stateDir>/<node>.json lists every attachment and pin.

struct Placement {
  // Root of this loader's pins on a bpffs; mounted if it is not one yet.
  std::filesystem::path pinRoot = "/sys/fs/bpf/polc";
  // Where the loader records what it attached (for unload and status).
  std::filesystem::path stateDir = "/run/polc";
  // Network namespace (a name under /run/netns) that holds the node's
  // host-side interfaces; empty = the loader's own namespace.
  std::string netns;
};

struct LoadRequest {
  std::filesystem::path outDir;
  std::string node; // empty: the manifest's only node
  Placement placement;
};

struct AttachedProgram {
  std::string endpoint;
  std::string interface;
  std::string hook;    // "tc-ingress" or "tc-egress"
  std::string program; // program name in the object
  uint32_t programId = 0;
};

struct LoadReport {
  std::string node;
  std::vector<AttachedProgram> attached;
  size_t policyEntries = 0;  // entries written to policy maps
  size_t ipcacheEntries = 0; // entries written to the ipcache
};

struct UnloadRequest {
  std::string node; // empty: every node this placement has state for
  Placement placement;
};

struct UnloadReport {
  std::vector<AttachedProgram> detached;
  size_t pinsRemoved = 0;
};

class Loader {
public:
  virtual ~Loader() = default;
  virtual Expected<LoadReport> load(const LoadRequest&) = 0;
  virtual Expected<UnloadReport> unload(const UnloadRequest&) = 0;
};

std::unique_ptr<Loader> makeKernelLoader();

} // namespace polc::loader
