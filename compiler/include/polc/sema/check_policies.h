// Pass "check-policies", checked AST -> diagnostics: a policy name used
// twice (an error: rules are named after their policy, in rule ids,
// explain, monitor and metrics, so two policies of one name could not be
// told apart) and a policy with neither an ingress nor an egress block,
// which selects endpoints but changes nothing (a warning).
#pragma once

#include "polc/pipeline/pass.h"

namespace polc::sema {

pipeline::Pass createCheckPoliciesPass();

} // namespace polc::sema
