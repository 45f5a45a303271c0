// polc explain: whether a policy allows a flow, and which rules decided it.
#include "commands.h"

#include "polc/driver/pipeline.h"
#include "polc/evaluator/explain.h"
#include "polc/evaluator/service_flow.h"
#include "polc/services/service_table.h"
#include "polc/support/protocol.h"
#include "polc/support/suggest.h"

#include <cctype>
#include <iostream>
#include <memory>
#include <netinet/in.h>
#include <optional>

namespace polc::cli {
namespace {

struct ExplainOptions {
  CompileOptions compile;
  std::string from;
  std::string to;
  std::string protocol;
  std::optional<int> port;
  std::optional<int> icmpType;
  std::optional<int> icmpCode;
  int sourcePort = 40000;
};

constexpr std::string_view kServicePrefix = "service/";

// The frontend `--to` names: service/NAME on the flow's port, or a vip
// address and port. Null with no error when `--to` is not a service.
Expected<const services::Frontend*> frontendOf(const std::string& to, const evaluator::Flow& flow,
                                               const services::ServiceTable& table,
                                               const topology::Topology& topology) {
  if (!to.starts_with(kServicePrefix)) return evaluator::frontendAt(table, flow);
  auto name = to.substr(kServicePrefix.size());
  const auto* service = topology.findService(name);
  if (!service) {
    std::vector<std::string> names;
    for (const auto& known : topology.services) names.push_back(known.name);
    auto guess = closestMatch(name, names);
    return Error{"unknown service '" + name + "'" +
                 (guess ? "; did you mean '" + *guess + "'?" : "")};
  }
  auto frontends = table.ofService(name);
  if (frontends.empty())
    return Error{"service '" + name + "' has " + (service->vip ? "no ports" : "no vip") +
                 ": it is a policy peer only, nothing connects to it"};
  return evaluator::frontendOnPort(frontends, name, flow);
}

std::string backendName(const services::Backend& backend) {
  // An echo's backends have no port.
  return (backend.endpoint.empty() ? "" : backend.endpoint + " ") +
         (backend.port ? backend.key() : backend.address.addressText());
}

std::string serviceText(const evaluator::ServiceFlow& flow, int sourcePort) {
  const auto& frontend = *flow.frontend;
  std::string text = "service " + frontend.service + " at " + frontend.text() + ": ";
  if (!flow.chosen)
    text += "no backend can take a new flow: refused (" +
            std::string(frontend.protocol == IPPROTO_TCP ? "TCP reset" : "ICMP unreachable") +
            ")\n";
  else
    text += "this flow (" + std::string(frontend.isEcho() ? "identifier " : "source port ") +
            std::to_string(sourcePort) + ") goes to " + backendName(*flow.chosen) + "\n";
  for (size_t i = 0; i < frontend.backends.size(); ++i) {
    const auto& backend = frontend.backends[i];
    text += std::string(&backend == flow.chosen ? "  * " : "    ") + backendName(backend) +
            "  weight " + std::to_string(backend.weight) + (backend.weight ? "" : " (drained)") +
            "  " + evaluator::verdictWord(flow.verdicts[i]) + "\n";
  }
  return text;
}

nlohmann::json serviceJson(const evaluator::ServiceFlow& flow, int sourcePort) {
  auto backends = nlohmann::json::array();
  for (size_t i = 0; i < flow.frontend->backends.size(); ++i) {
    const auto& backend = flow.frontend->backends[i];
    backends.push_back(
        {{"address", backend.address.addressText()},
         {"port", backend.port},
         {"endpoint", backend.endpoint},
         {"weight", backend.weight},
         {"chosen", &backend == flow.chosen},
         {"verdict", evaluator::verdictName(flow.verdicts[i].allowed, flow.verdicts[i].audited)}});
  }
  return {{"name", flow.frontend->service},
          {"vip", flow.frontend->vip.addressText()},
          {"protocol", protocolName(flow.frontend->protocol)},
          {"port", flow.frontend->port},
          {"source_port", sourcePort},
          {"refused", flow.chosen == nullptr},
          {"backends", backends}};
}

int runExplain(const ExplainOptions& explain, Format format) {
  namespace ev = polc::evaluator;
  const auto& options = explain.compile;
  auto fail = [&](int code, const std::string& message, const polc::Diagnostics* diagnostics) {
    if (format == Format::Json) {
      nlohmann::json json{{"ok", false}, {"error", message}};
      if (diagnostics) json["diagnostics"] = diagnostics->toJson();
      printJson(json);
    } else {
      std::cerr << "polc explain: " << message << "\n";
    }
    return code;
  };
  std::string protocolName = explain.protocol;
  for (auto& c : protocolName) c = char(std::tolower(static_cast<unsigned char>(c)));
  uint8_t protocol = polc::protocolFromName(protocolName).value_or(0);
  bool icmp = protocol == IPPROTO_ICMP || protocol == IPPROTO_ICMPV6;
  if (icmp && explain.port) return fail(kExitUsage, "--port is for tcp, udp and sctp", nullptr);
  if (icmp && !explain.icmpType) return fail(kExitUsage, "--icmp-type is required", nullptr);
  if (!icmp && (explain.icmpType || explain.icmpCode))
    return fail(kExitUsage, "--icmp-type and --icmp-code are for icmp and icmpv6", nullptr);
  if (!icmp && !explain.port) return fail(kExitUsage, "--port is required", nullptr);
  auto from = ev::FlowEnd::parse(explain.from);
  if (!from) return fail(kExitUsage, "--from: " + from.error(), nullptr);
  const bool toService = explain.to.starts_with(kServicePrefix);
  auto to = toService ? ev::FlowEnd::world() : ev::FlowEnd::parse(explain.to);
  if (!to) return fail(kExitUsage, "--to: " + to.error(), nullptr);

  auto diagnostics = options.diagnostics();
  auto compiled = polc::driver::compile({options.policy, options.topology}, diagnostics);
  printDiagnostics(diagnostics, format);
  if (!compiled) return fail(kExitInputError, "the policy has errors", &diagnostics);
  ev::Flow flow;
  flow.from = *from;
  flow.to = *to;
  flow.protocol = protocol;
  flow.port = uint16_t(explain.port.value_or(0));
  if (explain.icmpType) flow.icmpType = uint8_t(*explain.icmpType);
  if (explain.icmpCode) flow.icmpCode = uint8_t(*explain.icmpCode);
  // A flow to a service is judged after translation, to the backend its
  // flow hash picks (as the datapath does).
  const auto& serviceTable = compiled->services;
  auto frontend = frontendOf(explain.to, flow, serviceTable, compiled->topology);
  if (!frontend) return fail(kExitUsage, "--to: " + frontend.error(), &diagnostics);
  std::optional<ev::ServiceFlow> serviceFlow;
  if (*frontend) {
    auto translated =
        ev::evaluateServiceFlow(compiled->program, **frontend, flow, uint16_t(explain.sourcePort));
    if (!translated) return fail(kExitInputError, translated.error(), &diagnostics);
    serviceFlow = std::move(*translated);
  }
  const ev::Verdict* chosen = nullptr;
  std::optional<ev::Verdict> direct;
  if (serviceFlow) {
    for (size_t i = 0; i < serviceFlow->verdicts.size(); ++i)
      if (&(*frontend)->backends[i] == serviceFlow->chosen) chosen = &serviceFlow->verdicts[i];
  } else {
    auto verdict = ev::evaluate(compiled->program, flow);
    if (!verdict) return fail(kExitInputError, verdict.error(), &diagnostics);
    direct = std::move(*verdict);
    chosen = &*direct;
  }
  if (format == Format::Json) {
    nlohmann::json json =
        chosen ? ev::explainJson(compiled->program, *chosen)
               : nlohmann::json{{"verdict", "deny"}, {"reason", "the service has no backend"}};
    if (serviceFlow) json["service"] = serviceJson(*serviceFlow, explain.sourcePort);
    json["ok"] = true;
    json["diagnostics"] = diagnostics.toJson();
    printJson(json);
  } else {
    if (serviceFlow) std::cout << serviceText(*serviceFlow, explain.sourcePort);
    if (chosen)
      std::cout << (serviceFlow ? "\n" : "") << ev::explainText(compiled->program, *chosen);
  }
  return kExitOk;
}

} // namespace

void registerExplain(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<ExplainOptions>();
  auto* explain = app.add_subcommand(
      "explain", "Say whether a policy allows a flow, and which rules decided it");
  addCompileOptions(explain, options->compile);
  explain
      ->add_option("--from", options->from,
                   "Source: an endpoint name, an IP address, 'entity world' or 'entity host'")
      ->required();
  explain
      ->add_option("--to", options->to,
                   "Destination: as --from, or service/NAME (a vip address is its service "
                   "too): the flow is judged to the backend it is translated to")
      ->required();
  inRange(explain->add_option("--sport", options->sourcePort,
                              "Source port (the identifier of an echo) of a flow to a "
                              "service: it picks the backend (default 40000)"),
          1, 65535);
  oneOf(explain->add_option("--proto", options->protocol, "tcp, udp, sctp, icmp or icmpv6")
            ->required(),
        {"tcp", "udp", "sctp", "icmp", "icmpv6"});
  inRange(explain->add_option("--port", options->port, "Destination port (tcp, udp, sctp)"), 1,
          65535);
  inRange(explain->add_option("--icmp-type", options->icmpType, "ICMP type (icmp, icmpv6)"), 0,
          255);
  inRange(explain->add_option("--icmp-code", options->icmpCode, "ICMP code (default 0)"), 0, 255);
  addFormatOption(explain, context.format, FormatFlag::DeprecatedOutput);
  context.add(explain, [options, &context] { return runExplain(*options, context.format); });
}

} // namespace polc::cli
