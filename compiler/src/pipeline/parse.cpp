#include "polc/pipeline/parse.h"

#include "polc/frontend/parser.h"
#include "polc/topology/loader.h"

namespace polc::pipeline {

Pass createParsePass() {
  return {"parse",
          "read the policy (with its includes) and the topology YAML",
          {stage<Inputs>()},
          {stage<ParsedAst>(), stage<topology::Topology>()},
          [](PassContext& context) {
            const auto& inputs = context.get<Inputs>();
            auto file = frontend::parseFile(inputs.policyFile, context.diagnostics());
            auto topology = topology::loadFile(inputs.topologyFile, context.diagnostics());
            if (file) context.put(ParsedAst{std::move(*file)});
            if (topology) context.put(std::move(*topology));
          }};
}

} // namespace polc::pipeline
