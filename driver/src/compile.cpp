#include "polc/driver/pipeline.h"

#include "polc/frontend/parser.h"
#include "polc/sema/sema.h"
#include "polc/topology/loader.h"

namespace polc::driver {

std::optional<Compiled> compile(const Inputs& inputs, Diagnostics& diagnostics) {
  // Parse both inputs before stopping, so one run reports the errors of each.
  auto file = frontend::parseFile(inputs.policyFile, diagnostics);
  auto topology = topology::loadFile(inputs.topologyFile, diagnostics);
  auto program = file && topology ? sema::analyze(*file, *topology, diagnostics) : std::nullopt;
  // Passes report in their own order; a person reads in file order.
  diagnostics.sort();
  if (!program) return std::nullopt;
  return Compiled{std::move(*topology), std::move(*program)};
}

} // namespace polc::driver
