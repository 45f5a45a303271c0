// Emits the BPF C of one endpoint and compiles it with clang -target bpf.
#pragma once

#include "polc/support/expected.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace polc::codegen {

// POLC_POLICY_PREFIXES_ALL of bpf/lib/polc_structs.h: lengths 32 and 48..64.
inline constexpr uint64_t kAllPolicyPrefixes = 0x1ffff0001ull;

// What the generated program of one endpoint is specialized on.
struct EndpointProgramSpec {
  // Neither is in the C: the identity is set by the loader in .rodata
  // (polc_endpoint_identity), so endpoints that differ only in them share
  // one object. Kept here for whoever loads the object (e.g. test harnesses).
  std::string endpoint;
  uint32_t identity = 0;
  // Emit the program for this direction (the loader attaches what is emitted).
  bool egressProgram = false;  // polc_from_ep: packets leaving the endpoint
  bool ingressProgram = false; // polc_to_ep: packets entering the endpoint
  // The features of bpf/lib/polc_features.h; the defaults are the full
  // datapath. Isolated: no table match -> drop. Not isolated: no match -> pass.
  bool egressIsolated = false;
  bool ingressIsolated = false;
  // Isolated by audit policies only: no table match -> pass as audit.
  bool egressAuditIsolated = false;
  bool ingressAuditIsolated = false;
  bool egressPeerLookup = true;     // the table has entries for specific peers
  bool egressWildcardLookup = true; // the table has wildcard-peer entries
  bool ingressPeerLookup = true;
  bool ingressWildcardLookup = true;
  // The key prefix lengths each table holds (POLC_<DIR>_POLICY_PREFIXES: bit
  // len - 32 for length len); the default is every length.
  uint64_t egressPolicyPrefixes = kAllPolicyPrefixes;
  uint64_t ingressPolicyPrefixes = kAllPolicyPrefixes;
  bool ipv6 = true; // false: every IPv6 verdict is fixed (see POLC_IPV6)
  // 0: the direction's lookups go to its policy map. N > 0: its table is
  // compiled in as code, N slots of .rodata the loader fills (POLC_<DIR>_INLINE_ENTRIES).
  unsigned egressInlineEntries = 0;
  unsigned ingressInlineEntries = 0;
  // Translate packets to services' vips (POLC_SERVICES, polc_service.h).
  bool services = false;
};

// Deterministic C text for the endpoint (no timestamps, no paths, no name or
// identity).
std::string emitEndpointC(const EndpointProgramSpec&);

// The bpf/lib headers, embedded in the binary, as (relative path, contents)
// sorted by path; the build writes them beside the generated C.
const std::vector<std::pair<std::string, std::string>>& bpfLibraryFiles();

struct CompileRequest {
  std::filesystem::path workDir;        // clang runs here; paths below are relative to it
  std::string source;                   // e.g. "nodes/n1/endpoints/web-1/prog.c"
  std::string object;                   // e.g. "objects/tmp-web-1.o"
  std::vector<std::string> includeDirs; // relative to workDir, e.g. "bpf/lib"
};

// Runs clang -target bpf -O2 -g with flags that keep the object independent of
// workDir's absolute path. On failure, the error carries clang's output.
Status compileBpfObject(const CompileRequest&);

// What determines an object besides its sources, for a compile cache: the
// clang that compileBpfObject runs, its `--version` text, and every flag
// except -ffile-prefix-map (which maps the work directory, whatever it is,
// to ".").
Expected<std::string> clangPath();
Expected<std::string> clangVersion(const std::string& clangPath);
std::vector<std::string> bpfCompileFlags(const std::vector<std::string>& includeDirs);

// Where an installed polc finds libbpf's headers for BPF programs
// (<prefix>/share/polc/include, from polc's own location), added by
// bpfCompileFlags before the system's; empty when polc runs from a build tree.
const std::string& packagedIncludeDir();

} // namespace polc::codegen
