// Pass "find-ineffective-rules", IR -> diagnostics: warns about rules that
// change nothing: shadowed by an earlier rule of the same verdict, or allows
// whose every flow a deny refuses.
#pragma once

#include "polc/pipeline/pass.h"

namespace polc::sema {

pipeline::Pass createFindIneffectiveRulesPass();

} // namespace polc::sema
