#include "polc/evaluator/service_flow.h"

#include <netinet/in.h>

namespace polc::evaluator {
namespace {

// The client's address as the flow hash sees it.
Expected<IpPrefix> clientAddress(const FlowEnd& from, const services::Frontend& frontend,
                                 const ir::Program& program) {
  if (from.kind == FlowEnd::Kind::Address) return from.address;
  if (from.kind == FlowEnd::Kind::Endpoint)
    if (const auto* endpoint = program.findEndpoint(from.name)) {
      for (const auto& address : endpoint->addresses)
        if (address.family == frontend.vip.family) return address;
      return Error{"endpoint " + from.name + " has no IPv" + std::to_string(frontend.vip.family) +
                   " address to reach " + frontend.text()};
    }
  return Error{"give an endpoint or an address as the source of a flow to " + frontend.text() +
               ": the backend it goes to depends on it"};
}

std::string backendText(const services::Backend& backend) {
  // An echo's backends have no port.
  const auto where = backend.port ? backend.key() : backend.address.addressText();
  return backend.endpoint.empty() ? where : backend.endpoint + " (" + where + ")";
}

constexpr uint8_t kEchoRequest = 8, kEchoRequestV6 = 128;

} // namespace

bool frontendTakes(const services::Frontend& frontend, const Flow& flow) {
  if (frontend.protocol != flow.protocol) return false;
  if (!frontend.isEcho()) return frontend.port == flow.port;
  // Any code, as the datapath (polc_parse.h) takes it.
  return flow.icmpType == (flow.protocol == IPPROTO_ICMP ? kEchoRequest : kEchoRequestV6);
}

const services::Frontend* frontendAt(const services::ServiceTable& table, const Flow& flow) {
  if (flow.to.kind != FlowEnd::Kind::Address) return nullptr;
  const auto* frontend = table.find(
      flow.to.address, flow.protocol,
      flow.protocol == IPPROTO_ICMP || flow.protocol == IPPROTO_ICMPV6 ? uint16_t(0) : flow.port);
  return frontend && frontendTakes(*frontend, flow) ? frontend : nullptr;
}

Expected<const services::Frontend*>
frontendOnPort(const std::vector<const services::Frontend*>& frontends, const std::string& name,
               const Flow& flow) {
  std::string ports, echoes;
  for (const auto* frontend : frontends) {
    if (frontendTakes(*frontend, flow)) return frontend;
    if (frontend->isEcho())
      echoes += frontend->protocol == IPPROTO_ICMP ? ", icmp type 8" : ", icmpv6 type 128";
    else
      ports += (ports.empty() ? "" : ", ") +
               topology::toText({frontend->protocol, frontend->port, frontend->port});
  }
  ports += echoes; // the echo requests its vips answer, last
  return Error{"service '" + name + "' has no port " + flow.l4Text() + "; its ports: " + ports};
}

Expected<ServiceFlow> evaluateServiceFlow(const ir::Program& program,
                                          const services::Frontend& frontend, const Flow& flow,
                                          uint16_t sourcePort) {
  auto client = clientAddress(flow.from, frontend, program);
  if (!client) return Error{client.error()};
  ServiceFlow result{
      &frontend,
      services::pickBackend(frontend, services::flowTo(frontend, *client, sourcePort)),
      {}};
  for (const auto& backend : frontend.backends) {
    auto translated = flow;
    translated.to = backend.endpoint.empty() ? FlowEnd::ip(backend.address)
                                             : FlowEnd::endpoint(backend.endpoint);
    translated.port = backend.port;
    auto verdict = evaluate(program, translated);
    if (!verdict) return Error{verdict.error()};
    result.verdicts.push_back(std::move(*verdict));
  }
  return result;
}

AnyBackendVerdict anyBackendVerdict(const ServiceFlow& flow) {
  const auto& frontend = *flow.frontend;
  const std::string service = "service " + frontend.service + " at " + frontend.text();
  std::vector<size_t> weighted, denying, auditing;
  for (size_t i = 0; i < frontend.backends.size(); ++i) {
    if (frontend.backends[i].weight == 0) continue;
    weighted.push_back(i);
    if (!flow.verdicts[i].allowed)
      denying.push_back(i);
    else if (flow.verdicts[i].audited)
      auditing.push_back(i);
  }
  // Each backend with the evaluator's reason for its verdict.
  auto names = [&](const std::vector<size_t>& indices) {
    std::string text;
    for (size_t i : indices)
      text += (text.empty() ? "" : "; ") + backendText(frontend.backends[i]) + ": " +
              flow.verdicts[i].reason;
    return text;
  };
  if (weighted.empty())
    return {"deny", service + " has no backend with a weight: a new flow is refused", {}};
  const std::string reach = " (a new flow goes to any of its " + std::to_string(weighted.size()) +
                            " backends with a weight)";
  if (!denying.empty()) return {"deny", service + ": denied to " + names(denying) + reach, denying};
  if (!auditing.empty())
    return {"audit", service + ": audited to " + names(auditing) + reach, auditing};
  std::string backends;
  for (size_t i : weighted)
    backends += (backends.empty() ? "" : ", ") + backendText(frontend.backends[i]);
  return {"allow", service + ": allowed to every backend with a weight, " + backends, weighted};
}

} // namespace polc::evaluator
