// Semantic analysis: what sema's passes (resolve_lets.h, check_label_spelling.h,
// lower_to_ir.h, find_ineffective_rules.h) share, and the steps of lowering
// that others use. The passes run in the order of the pipeline
// (polc/pipeline/pipeline.h).
#pragma once

#include "polc/diagnostics/diagnostics.h"
#include "polc/frontend/ast.h"
#include "polc/ir/ir.h"
#include "polc/topology/topology.h"

#include <map>
#include <optional>
#include <set>

namespace polc::sema {

// Does the selector (without let references) match these labels?
bool matches(const ast::Selector&, const topology::Labels&);

// One identity per distinct endpoint label set. The number is derived
// from the labels themselves, so adding or removing other endpoints does not
// change it (short of a hash collision, resolved in a fixed order).
std::map<topology::Labels, uint32_t> allocateIdentities(const topology::Topology&);

// One identity per prefix (CIDRs of policy, service addresses), derived
// from the prefix text in the same stable way, above the endpoint space.
std::map<IpPrefix, uint32_t> allocatePrefixIdentities(const std::set<IpPrefix>&);

// Every prefix the ipcache needs beyond endpoint and node addresses: CIDRs
// and excepts of cidr peers, the CIDRs of the groups policy names, and
// service addresses. Reports unknown groups and services.
std::set<IpPrefix> collectPrefixes(const ast::File&, const topology::Topology&, Diagnostics&);

} // namespace polc::sema
