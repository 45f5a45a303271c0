// polc explain: whether a policy allows a flow, and which rules decided it.
#include "commands.h"

#include "polc/driver/pipeline.h"
#include "polc/evaluator/explain.h"
#include "polc/support/protocol.h"

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
};

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
  auto to = ev::FlowEnd::parse(explain.to);
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
  auto verdict = ev::evaluate(compiled->program, flow);
  if (!verdict) return fail(kExitInputError, verdict.error(), &diagnostics);
  if (format == Format::Json) {
    auto json = ev::explainJson(compiled->program, *verdict);
    json["ok"] = true;
    json["diagnostics"] = diagnostics.toJson();
    printJson(json);
  } else {
    std::cout << ev::explainText(compiled->program, *verdict);
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
  explain->add_option("--to", options->to, "Destination: as --from")->required();
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
