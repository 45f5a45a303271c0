// Pass "resolve-lets", parsed AST -> checked AST: replaces let references by
// the selectors they name. Reports unknown names, duplicate lets and lets used
// before they are defined.
#pragma once

#include "polc/pipeline/pass.h"

namespace polc::sema {

pipeline::Pass createResolveLetsPass();

} // namespace polc::sema
