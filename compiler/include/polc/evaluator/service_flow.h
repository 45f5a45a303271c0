// A flow to a service's frontend, judged as the datapath judges it: after
// translation, on the backend and its target port (docs/datapath.md
// "Services"). The flow hash picks one backend per source port; `polc
// explain` shows the one picked and every backend's verdict, `polc test`
// wants every backend a new flow can reach to agree.
#pragma once

#include "polc/evaluator/evaluator.h"
#include "polc/services/service_table.h"
#include "polc/support/expected.h"

#include <cstdint>
#include <string>
#include <vector>

namespace polc::evaluator {

struct ServiceFlow {
  const services::Frontend* frontend = nullptr;
  const services::Backend* chosen = nullptr; // the source port's; null: none, refused
  std::vector<Verdict> verdicts;             // per frontend->backends, the translated flow's
};

// Does the frontend take `flow`: its protocol and port, or for an echo
// frontend an echo request (ICMP type 8, ICMPv6 type 128)?
bool frontendTakes(const services::Frontend&, const Flow&);

// The frontend a flow to an address goes to; null when it is no vip's.
const services::Frontend* frontendAt(const services::ServiceTable&, const Flow&);

// The frontend of service `name`, among `frontends` (its own), on the
// flow's protocol and port (or its echo); an error that lists its ports
// otherwise.
Expected<const services::Frontend*>
frontendOnPort(const std::vector<const services::Frontend*>& frontends, const std::string& name,
               const Flow& flow);

// Judges `flow` (to the frontend's vip and port) from `sourcePort` as the
// flow to each backend. Errors: a source that is neither an endpoint with
// an address of the vip's family nor an address (the pick depends on it),
// and the evaluator's.
Expected<ServiceFlow> evaluateServiceFlow(const ir::Program&, const services::Frontend&,
                                          const Flow&, uint16_t sourcePort);

// What every new flow to the frontend gets, whatever its source port: the
// verdict of the backends with a weight when they agree, else a deny that
// names the backends that deny (or audit). A frontend without a backend
// with a weight refuses: a deny. `verdict`: "allow", "audit" or "deny".
struct AnyBackendVerdict {
  std::string verdict;
  std::string reason;
  std::vector<size_t> deciding; // indices of the backends whose verdicts decided
};
AnyBackendVerdict anyBackendVerdict(const ServiceFlow&);

} // namespace polc::evaluator
