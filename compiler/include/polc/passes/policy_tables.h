// Pass "build-tables", IR -> tables: every endpoint's policy table per
// direction and every node's ipcache, built once (for the capacity check,
// statistics and the build alike). The steps are in tables.h.
#pragma once

#include "polc/pipeline/pass.h"

namespace polc::passes {

pipeline::Pass createBuildTablesPass();

} // namespace polc::passes
