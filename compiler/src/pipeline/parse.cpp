#include "polc/pipeline/parse.h"

#include "polc/frontend/parser.h"
#include "polc/topology/loader.h"

namespace polc::pipeline {

Pass createParsePass() {
  return makePass<Inputs>("parse", "read the policy (with its includes) and the topology YAML",
                          {stage<ParsedAst>(), stage<topology::Topology>()},
                          [](PassContext& context, const Inputs& inputs) {
                            auto& diagnostics = context.diagnostics();
                            auto file = frontend::parseFile(inputs.policyFile, diagnostics);
                            auto topology = topology::loadFile(inputs.topologyFile, diagnostics);
                            if (file) context.put(ParsedAst{std::move(*file)});
                            if (topology) context.put(std::move(*topology));
                          });
}

} // namespace polc::pipeline
