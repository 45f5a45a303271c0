#include "polc/driver/pipeline.h"

#include "polc/frontend/parser.h"
#include "polc/passes/table_stats.h"
#include "polc/sema/sema.h"
#include "polc/topology/loader.h"

namespace polc::driver {

std::optional<Compiled> compile(const Inputs& inputs, Diagnostics& diagnostics) {
  // Parse both inputs before stopping, so one run reports the errors of each.
  auto file = frontend::parseFile(inputs.policyFile, diagnostics);
  auto topology = topology::loadFile(inputs.topologyFile, diagnostics);
  auto program = file && topology ? sema::analyze(*file, *topology, diagnostics) : std::nullopt;
  // A table too big for its map is a compile error, not a load failure: so
  // `polc check` reports it too, with the rules to blame.
  std::vector<passes::NodeTables> tables;
  passes::TableStats stats;
  if (program) {
    tables = passes::buildAllTables(*program);
    stats = passes::computeTableStats(tables);
    passes::checkTableCapacity(*program, *topology, stats, diagnostics);
  }
  // Passes report in their own order; a person reads in file order.
  diagnostics.sort();
  if (!program || diagnostics.hasErrors()) return std::nullopt;
  std::vector<std::string> inputFiles = file->files;
  inputFiles.push_back(inputs.topologyFile);
  return Compiled{std::move(inputFiles), std::move(*topology), std::move(*program),
                  std::move(tables), std::move(stats)};
}

} // namespace polc::driver
