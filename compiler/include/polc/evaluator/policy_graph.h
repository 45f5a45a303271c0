// Who may talk to whom (`polc graph`): the flows a policy allows between
// groups of endpoints and the other ends of the cluster, found with the
// reference evaluator like `polc diff`.
//
// The ends: every endpoint, `world`, `host`, `remote-node` (with more than
// one node), and one end per CIDR identity and per service address. The
// endpoints are collapsed into groups (by default one per identity: the
// same labels). Flows are judged per class of endpoints that behave the
// same (the same identity, the same rules applied in each direction, the
// same address families), not per endpoint, and per class the port space
// is split into the intervals its rules induce (as polc diff does), so a
// cluster of 10,000 endpoints takes seconds. Pairs whose rules match the
// same way share one evaluation.
//
// An edge from group A to group B is the union over the flows from a member
// of A to a member of B (a member's flows to itself are not flows): an
// allow edge holds the ranges some flow passes on, a deny edge the ranges
// some flow is denied on by a deny rule (what isolation alone denies draws
// no edge). A group with no allow edge to or from another group is
// isolated.
#pragma once

#include "polc/ir/ir.h"
#include "polc/support/expected.h"

#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace polc::evaluator {

struct GraphGrouping {
  enum class Kind { Identity, Namespace, Label };
  Kind kind = Kind::Identity;
  std::string key; // Label: the label key
};

// An end filter (--from, --to): `world`, `host`, `remote-node`, `cidr`,
// `service` (every group of that kind), or labels an endpoint must all
// carry, comma-separated: `app=web,env=prod`, or `app` for any value.
struct EndSelector {
  std::string entity; // one of the kinds above, or empty for labels
  std::vector<std::pair<std::string, std::optional<std::string>>> labels;
  std::string text; // as given
  static Expected<EndSelector> parse(const std::string& text);
};

struct GraphOptions {
  GraphGrouping groupBy;
  // Only flows from (to) the ends they select; with a filter (or --port),
  // only the groups on an edge or selected by --from or --to are kept.
  std::optional<EndSelector> from, to;
  // Only flows on this port. protocol 0: tcp, udp and sctp at that port.
  std::optional<ir::L4Range> port;
};

struct GraphGroup {
  enum class Kind { Endpoints, World, Host, RemoteNode, Cidr, Service };
  Kind kind = Kind::Endpoints;
  std::string name;  // "app=web,env=prod", "namespace shop", "world", "cidr 10.0.0.0/8"
  ir::Labels labels; // Endpoints: the labels all members share
  std::vector<std::string> members; // Endpoints: endpoint names, sorted
  bool isolated = false;            // no allow edge to or from another group
};

struct GraphEdge {
  size_t from = 0, to = 0;          // indexes into PolicyGraph::groups
  bool deny = false;                // denied by deny rules (else allowed)
  std::vector<ir::L4Range> ranges;  // merged per protocol, sorted; kOther = 255
  std::vector<ir::L4Range> audited; // allow edges: the part that passes only as audited
  std::vector<uint32_t> rules;      // the deciding rules (ids), ascending
  // In a graph of differences (diffGraphs): what the ranges are.
  enum class Change { Same, Added, Removed };
  Change change = Change::Same;
  std::vector<std::string> l4Texts() const; // "any", or "tcp/80", "udp/9000", ...
};

struct PolicyGraph {
  // Endpoint groups by name, then world, host, remote-node, CIDRs and
  // services by prefix.
  std::vector<GraphGroup> groups;
  std::vector<GraphEdge> edges; // by from, to, allow before deny
  size_t classes = 0;           // classes of ends judged
  size_t evaluations = 0;       // distinct pairs evaluated port by port
  bool differences = false;     // made by diffGraphs: edges say what changed
};

// Errors (for the command line to report): --group-by label or a selector
// naming a label key no endpoint has (with a did-you-mean), a selector that
// selects no end.
Expected<PolicyGraph> policyGraph(const ir::Program&, const GraphOptions& = {});

// What changes between the graphs of two versions (`polc diff --format
// svg`): the groups of both (matched by name; members and isolation as the
// new version has them), and per pair of groups and verdict up to three
// edges: the ranges both have (Same), the new one's only (Added), the old
// one's only (Removed). An edge's rules are ids into the version that has
// its flows: the old one for Removed, else the new one.
PolicyGraph diffGraphs(const PolicyGraph& before, const PolicyGraph& after);

// Graphviz source: a box per group (isolated ones grey and marked), an
// edge per allow (solid) and deny (dashed red) with its ranges. For a graph
// of differences, added ranges are blue and bold ("+ tcp/80"), removed ones
// purple and dotted ("- tcp/80"), unchanged ones grey.
std::string graphDot(const ir::Program&, const PolicyGraph&);
// {"cluster", "groups": [...], "edges": [...] (the deciding rules by stable
// id), "rules": [...] (those rules: id, policy, audit, text, location),
// "summary": {...}}.
nlohmann::json graphJson(const ir::Program&, const PolicyGraph&);
// The same for a graph of differences (diffGraphs of the two versions'
// graphs): each edge also has "change" (same, added, removed), the summary
// counts added_edges and removed_edges, and "differences" is true. Rules
// are taken from the version that has the edge's flows.
nlohmann::json graphJson(const ir::Program& before, const ir::Program& after,
                         const PolicyGraph& differences);

} // namespace polc::evaluator
