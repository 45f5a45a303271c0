// Pass "lower-to-ir", checked AST + topology -> IR: selectors, services,
// CIDRs, groups and entities to identity sets; named and service ports to
// ranges; rules to the endpoints they apply to; isolation (policy blocks and
// default denies). Its helpers are in sema.h and src/sema/.
#pragma once

#include "polc/pipeline/pass.h"

namespace polc::sema {

pipeline::Pass createLowerToIrPass();

} // namespace polc::sema
