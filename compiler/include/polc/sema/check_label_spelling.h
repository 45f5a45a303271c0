// Pass "check-label-spelling", checked AST + topology -> diagnostics: warns
// about label keys and values that no endpoint of the topology has, with a
// did-you-mean hint for the closest one that exists.
#pragma once

#include "polc/pipeline/pass.h"

namespace polc::sema {

pipeline::Pass createCheckLabelSpellingPass();

} // namespace polc::sema
