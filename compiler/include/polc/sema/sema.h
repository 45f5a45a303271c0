// Semantic analysis: checks the AST against the topology and lowers it to
// the policy IR. Each step is its own pass (src/sema/*.cpp).
#pragma once

#include "polc/diagnostics/diagnostics.h"
#include "polc/frontend/ast.h"
#include "polc/ir/ir.h"
#include "polc/topology/topology.h"

#include <map>
#include <optional>

namespace polc::sema {

// Pass: replaces let references by the selectors they name. Reports unknown
// names and lets used before they are defined.
std::optional<ast::File> resolveLets(const ast::File&, Diagnostics&);

// Does the selector (without let references) match these labels?
bool matches(const ast::Selector&, const topology::Labels&);

// Pass: one identity per distinct label set. The number is derived from the
// labels themselves, so adding or removing other endpoints does not change it
// (short of a hash collision, resolved in a fixed order).
std::map<topology::Labels, uint32_t> allocateIdentities(const topology::Topology&);

// Pass: selectors to identity sets, rules to endpoints, isolation.
std::optional<ir::Program> lowerToIr(const ast::File&, const topology::Topology&,
                                     const std::map<topology::Labels, uint32_t>& identities,
                                     Diagnostics&);

// The three passes above in order; stops at the first pass with errors.
std::optional<ir::Program> analyze(const ast::File&, const topology::Topology&, Diagnostics&);

} // namespace polc::sema
