// Semantic analysis: checks the AST against the topology and lowers it to
// the policy IR. Each step is its own pass (src/sema/*.cpp, one job each);
// analyze() runs them in order and stops after the first with errors.
#pragma once

#include "polc/diagnostics/diagnostics.h"
#include "polc/frontend/ast.h"
#include "polc/ir/ir.h"
#include "polc/topology/topology.h"

#include <map>
#include <optional>
#include <set>

namespace polc::sema {

// Pass: replaces let references by the selectors they name. Reports unknown
// names and lets used before they are defined.
std::optional<ast::File> resolveLets(const ast::File&, Diagnostics&);

// Does the selector (without let references) match these labels?
bool matches(const ast::Selector&, const topology::Labels&);

// Pass: warns about label keys and values that no endpoint of the topology
// has, with a did-you-mean hint for the closest one that exists.
void checkLabelSpelling(const ast::File&, const topology::Topology&, Diagnostics&);

// Pass: one identity per distinct endpoint label set. The number is derived
// from the labels themselves, so adding or removing other endpoints does not
// change it (short of a hash collision, resolved in a fixed order).
std::map<topology::Labels, uint32_t> allocateIdentities(const topology::Topology&);

// Pass: one identity per prefix (CIDRs of policy, service addresses), derived
// from the prefix text in the same stable way, above the endpoint space.
std::map<IpPrefix, uint32_t> allocatePrefixIdentities(const std::set<IpPrefix>&);

// Every prefix the ipcache needs beyond endpoint and node addresses: CIDRs
// and excepts of cidr peers, the CIDRs of the groups policy names, and
// service addresses. Reports unknown groups and services.
std::set<IpPrefix> collectPrefixes(const ast::File&, const topology::Topology&, Diagnostics&);

// Pass: selectors, services, CIDRs, groups and entities to identity sets;
// named and service ports to ranges; rules to the endpoints they apply to;
// isolation (policy blocks and default denies).
std::optional<ir::Program> lowerToIr(const ast::File&, const topology::Topology&, Diagnostics&);

// Pass: warns about rules that change nothing: shadowed by an earlier rule
// of the same verdict, or allows whose every flow a deny refuses.
void findIneffectiveRules(const ir::Program&, Diagnostics&);

// The passes above in order; stops at the first pass with errors.
std::optional<ir::Program> analyze(const ast::File&, const topology::Topology&, Diagnostics&);

} // namespace polc::sema
