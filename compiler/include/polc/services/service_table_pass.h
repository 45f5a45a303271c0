// Pass "build-service-table", topology -> service table: every frontend of
// every service with its backends and Maglev table (service_table.h), built
// once for the build, explain and test. A table the datapath's service maps
// cannot hold is a compile error, so `polc check` reports it too.
#pragma once

#include "polc/diagnostics/diagnostics.h"
#include "polc/pipeline/pass.h"
#include "polc/services/service_table.h"

namespace polc::services {

// Errors where the frontends (polc_services, polc_maglev) or the backend
// entries (polc_backends: one per backend with a weight of each frontend)
// outnumber their maps' capacity, on the service that adds the most, with
// the next ones as notes. False when something does not fit.
bool checkServiceCapacity(const topology::Topology&, Diagnostics&);

pipeline::Pass createBuildServiceTablePass();

} // namespace polc::services
