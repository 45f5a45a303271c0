// polc graph: who may talk to whom, as a picture (DOT, SVG, an HTML report) or as
// data (JSON).
#include "commands.h"

#include "polc/driver/pipeline.h"
#include "polc/evaluator/policy_graph.h"
#include "polc/graph/html.h"
#include "polc/graph/svg.h"
#include "polc/support/protocol.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <iostream>
#include <memory>
#include <netinet/in.h>
#include <tuple>

namespace polc::cli {
namespace {

struct GraphOptions {
  CompileOptions compile;
  std::string format = "dot";
  std::string output; // empty: stdout
  std::vector<std::string> groupBy;
  std::string from, to, port;
};

// "tcp/443", "udp/53-55", "icmp" (every type), or a bare port "443": tcp,
// udp and sctp.
Expected<ir::L4Range> parsePort(const std::string& text) {
  auto number = [](const std::string& digits) -> std::optional<uint16_t> {
    if (digits.empty() || digits.size() > 5 ||
        digits.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    int value = std::stoi(digits);
    if (value < 1 || value > 65535) return std::nullopt;
    return uint16_t(value);
  };
  const std::string usage =
      "'" + text + "': give PROTO/PORT[-PORT] (tcp/443), a port (443) or icmp";
  if (auto port = number(text)) return ir::L4Range{0, *port, *port};
  auto slash = text.find('/');
  auto protocol = protocolFromName(text.substr(0, slash));
  if (!protocol) return Error(usage);
  if (slash == std::string::npos) return ir::L4Range{*protocol, 0, 65535};
  if (*protocol != IPPROTO_TCP && *protocol != IPPROTO_UDP && *protocol != IPPROTO_SCTP)
    return Error(usage);
  auto range = text.substr(slash + 1);
  auto dash = range.find('-');
  auto first = number(range.substr(0, dash));
  auto last = dash == std::string::npos ? first : number(range.substr(dash + 1));
  if (!first || !last || *last < *first) return Error(usage);
  return ir::L4Range{*protocol, *first, *last};
}

int runGraph(GraphOptions options, Format& format) {
  namespace ev = polc::evaluator;
  if (options.format == "json") format = Format::Json;
  // --group-by takes the words after it up to the next option, so in
  // `--group-by namespace shop.pol` it took the policy too: give it back.
  const size_t groupingWords = !options.groupBy.empty() && options.groupBy[0] == "label" ? 2 : 1;
  if (options.compile.policy.empty() && options.groupBy.size() == groupingWords + 1) {
    options.compile.policy = options.groupBy.back();
    options.groupBy.pop_back();
    if (!std::filesystem::exists(options.compile.policy))
      return failUsage("graph", "policy: no such file: " + options.compile.policy, format);
  }
  if (options.compile.policy.empty())
    return failUsage("graph", "the policy file (POLICY) is required", format);
  if (options.format != "dot" && options.format != "json" && options.format != "svg" &&
      options.format != "html")
    return failUsage("graph",
                     "--format: unknown format '" + options.format +
                         "'; the formats are dot, json, svg and html",
                     format);
  ev::GraphOptions graphOptions;
  if (!options.groupBy.empty()) {
    const auto& how = options.groupBy[0];
    if (how == "label") {
      if (options.groupBy.size() != 2 || options.groupBy[1].empty())
        return failUsage("graph", "--group-by label needs a label key: --group-by label KEY",
                         format);
      graphOptions.groupBy = {ev::GraphGrouping::Kind::Label, options.groupBy[1]};
    } else if (how == "identity" || how == "namespace") {
      if (options.groupBy.size() != 1)
        return failUsage("graph",
                         "--group-by " + how + " takes no key (got '" + options.groupBy[1] + "')",
                         format);
      graphOptions.groupBy.kind = how == "identity" ? ev::GraphGrouping::Kind::Identity
                                                    : ev::GraphGrouping::Kind::Namespace;
    } else {
      return failUsage("graph",
                       "--group-by: unknown grouping '" + how +
                           "'; give identity, namespace, or label KEY",
                       format);
    }
  }
  for (auto [text, selector, name] : {std::tuple{&options.from, &graphOptions.from, "--from"},
                                      std::tuple{&options.to, &graphOptions.to, "--to"}}) {
    if (text->empty()) continue;
    auto parsed = ev::EndSelector::parse(*text);
    if (!parsed) return failUsage("graph", std::string(name) + ": " + parsed.error(), format);
    *selector = *parsed;
  }
  if (!options.port.empty()) {
    auto port = parsePort(options.port);
    if (!port) return failUsage("graph", "--port: " + port.error(), format);
    graphOptions.port = *port;
  }

  auto diagnostics = options.compile.diagnostics();
  // Verdicts need the resolved rules, not the tables.
  auto program =
      polc::driver::compileToIr({options.compile.policy, options.compile.topology}, diagnostics);
  printDiagnostics(diagnostics, format);
  if (!program) {
    if (format == Format::Json)
      printJson(nlohmann::json{{"ok", false},
                               {"error", "the policy has errors"},
                               {"diagnostics", diagnostics.toJson()}});
    else
      std::cerr << "polc graph: the policy has errors\n";
    return kExitInputError;
  }
  auto graph = ev::policyGraph(*program, graphOptions);
  if (!graph) return failUsage("graph", graph.error(), format);

  std::string text;
  if (options.format == "json") {
    auto json = ev::graphJson(*program, *graph);
    json["ok"] = true;
    json["diagnostics"] = diagnostics.toJson();
    text = json.dump(2) + "\n";
  } else {
    text = ev::graphDot(*program, *graph);
    if (options.format == "svg" || options.format == "html") {
      auto picture =
          polc::graph::renderPicture(options.format == "svg" ? polc::graph::PictureFormat::Svg
                                                             : polc::graph::PictureFormat::Html,
                                     text, ev::graphJson(*program, *graph));
      // Too large to draw is the input's doing; anything else Graphviz's.
      if (!picture)
        return polc::graph::tooLargeToDraw(graph->groups.size(), graph->edges.size()).empty()
                   ? failSystem("graph", picture.failure(), format)
                   : failInput("graph", picture.error(), format);
      text = std::move(*picture);
    }
  }
  return writeOutput("graph", options.output, text, format);
}

} // namespace

void registerGraph(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<GraphOptions>();
  auto* graph = app.add_subcommand(
      "graph",
      "Draw which groups of endpoints may talk to which, on which ports (DOT, SVG, HTML, JSON)");
  addCompileOptions(graph, options->compile);
  // Checked by runGraph: --group-by may have taken it (see there).
  graph->get_option("policy")->required(false);
  graph
      ->add_option(
          "--format", options->format,
          "dot (default), json, svg, or html: one self-contained page, the picture and a matrix")
      ->type_name("dot|json|svg|html");
  graph->add_option("-o,--output", options->output, "Write to FILE instead of stdout")
      ->type_name("FILE");
  graph
      ->add_option("--group-by", options->groupBy,
                   "One node per identity (default), per "
                   "namespace, or per value of the label KEY")
      ->expected(1, 3)
      ->type_name("identity|namespace|label KEY");
  graph
      ->add_option("--from", options->from,
                   "Only flows from: world, host, remote-node, cidr, service, or endpoints "
                   "with labels key=value[,key=value] (a key alone: any value)")
      ->type_name("SEL");
  graph->add_option("--to", options->to, "Only flows to: as --from")->type_name("SEL");
  graph
      ->add_option("--port", options->port,
                   "Only flows on PROTO/PORT[-PORT] (tcp/443), a port (443: tcp, udp, sctp) or "
                   "icmp")
      ->type_name("P");
  context.add(graph, [options, &context] { return runGraph(*options, context.format); });
}

} // namespace polc::cli
