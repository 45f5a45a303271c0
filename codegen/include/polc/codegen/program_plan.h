// Codegen's plan for a build: which programs exist, their C, and which
// endpoint runs which. The build (driver::writeBuild) only writes and
// compiles what the plan holds; the plan itself touches no file.
#pragma once

#include "polc/codegen/endpoint_program.h"
#include "polc/codegen/specialize_endpoint.h"
#include "polc/passes/tables.h"

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace polc::codegen {

// One distinct program: C that one or more endpoints share, byte for byte.
struct PlannedProgram {
  // A stable, readable name of its specialization (shapeName()), unique in
  // the plan: it names the program in goldens, dumps and messages where the
  // digest of its C would change with every codegen change.
  std::string shapeName;
  // The specialization of its first endpoint (spec.endpoint names it);
  // every endpoint using the program has the same one, name and identity
  // aside, which the C does not hold.
  EndpointProgramSpec spec;
  std::string source;   // emitEndpointC(spec)
  size_t endpoints = 0; // how many endpoints run it
};

struct PlannedEndpoint {
  std::string endpoint;
  // Index into ProgramPlan::programs; nullopt when the endpoint's tables
  // have no effect (needsPrograms()) and it gets no program.
  std::optional<size_t> program;
};

struct PlannedNode {
  std::string node;
  std::vector<PlannedEndpoint> endpoints; // in the order of the node's tables
};

// The hand-off from codegen to the build.
struct ProgramPlan {
  std::vector<PlannedProgram> programs; // distinct, in order of first use
  std::vector<PlannedNode> nodes;       // in the order of the tables

  // The program an endpoint runs, or nullptr when it has none.
  const PlannedProgram* programOf(const PlannedEndpoint& endpoint) const {
    return endpoint.program ? &programs.at(*endpoint.program) : nullptr;
  }
};

struct PlanOptions {
  // Tables of at most this many entries are compiled in as code rather than
  // looked up in a map; 0: every table is a map.
  unsigned maxInlineEntries = kMaxInlineEntries;
  // The cluster has services to translate: every endpoint runs both
  // programs (one translates to a backend, the other the replies back).
  bool services = false;
};

// Specializes every endpoint's program on the shape of its tables and its
// node's ipcache (choosing which tables are inline), emits its C, and keeps
// one program per distinct C. Deterministic: the same tables give the same
// plan, programs numbered in node then endpoint order.
ProgramPlan planPrograms(std::span<const passes::NodeTables> nodes,
                         const PlanOptions& options = {});

// The name of a specialization, from everything of it that goes into the C
// (two specs with different C have different names), e.g.
// "egress-open_ingress-isolated-peer-inline1_no-ipv6": per direction
// isolated or open, its lookups (peer, any), its inline slots or the key
// prefix lengths its map is probed with, "no-program" when its program is
// not emitted; then whether IPv6 verdicts are looked up.
std::string shapeName(const EndpointProgramSpec& spec);

} // namespace polc::codegen
