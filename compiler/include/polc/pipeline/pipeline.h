// The compiler's passes in order, defined here once for the driver (every
// command that compiles) and the tests alike:
//   inputs -> parsed AST + topology -> checked AST -> IR -> tables -> table stats
// Codegen's plan-programs pass follows them in a build (driver::buildPasses).
// docs/architecture.md says where a new pass goes.
#pragma once

#include "polc/ir/ir.h"
#include "polc/pipeline/pass.h"
#include "polc/topology/topology.h"

#include <optional>
#include <string>

namespace polc::pipeline {

const PassManager& compilerPasses();

// What `polc build --dump-after=PASS` prints: the stage the pass shows
// (Pass::shows) in a stable text form: the AST as policy text with each
// item's location, the IR as text, the tables as the JSON a build writes,
// the table stats as `--stats` prints them. Empty when the pass did not
// produce it (it reported errors).
std::string dumpAfter(PassContext&, const Pass&);

// The passes from resolve-lets through find-ineffective-rules, over an AST
// and topology the caller already has (tests, the differential tester).
std::optional<ir::Program> analyze(const ast::File&, const topology::Topology&, Diagnostics&);

} // namespace polc::pipeline
