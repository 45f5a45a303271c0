// The specialization of an endpoint's program, chosen from its tables.
#pragma once

#include "polc/artifacts/tables.h"
#include "polc/codegen/endpoint_program.h"

namespace polc::codegen {

// Whether the endpoint needs programs at all: some direction is isolated or
// has a deny. Then both programs are attached, so that conntrack sees both
// directions of every flow.
bool needsPrograms(const artifacts::PolicyTable& ingress, const artifacts::PolicyTable& egress);

// What the node's ipcache tells every endpoint's specialization: computed
// once per node, not per endpoint.
struct NodeShape {
  bool ipv6InIpcache = false;
};
NodeShape nodeShapeOf(const artifacts::Ipcache& ipcache);

// By default, tables of at most this many entries are compiled in as code
// instead of looked up in their map (bench/codegen compares the two).
inline constexpr unsigned kMaxInlineEntries = 2;

// The features of bpf/lib/polc_features.h the endpoint's tables call for
// (its identity is left to the caller: it is load-time config).
// Tables of at most maxInlineEntries entries are compiled in as code (0: none).
EndpointProgramSpec specializeEndpoint(const artifacts::PolicyTable& ingress,
                                       const artifacts::PolicyTable& egress, const NodeShape& node,
                                       unsigned maxInlineEntries = kMaxInlineEntries);
// The same for a single endpoint.
EndpointProgramSpec specializeEndpoint(const artifacts::PolicyTable& ingress,
                                       const artifacts::PolicyTable& egress,
                                       const artifacts::Ipcache& ipcache);

} // namespace polc::codegen
