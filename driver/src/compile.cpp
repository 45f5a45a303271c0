#include "polc/driver/pipeline.h"

#include "polc/frontend/parser.h"
#include "polc/passes/table_stats.h"
#include "polc/sema/sema.h"
#include "polc/topology/loader.h"

#include <filesystem>

namespace polc::driver {

namespace {

// An input named by an absolute path is named relative to the working
// directory instead: source locations end up in the tables and the manifest,
// and two checkouts built from their roots must give the same bytes.
std::string relativeToWorkingDirectory(const std::string& path) {
  if (!std::filesystem::path(path).is_absolute()) return path;
  std::error_code ec;
  auto relative = std::filesystem::proximate(path, ec);
  return ec ? path : relative.lexically_normal().string();
}

} // namespace

std::optional<Compiled> compile(const Inputs& given, Diagnostics& diagnostics) {
  const Inputs inputs{relativeToWorkingDirectory(given.policyFile),
                      relativeToWorkingDirectory(given.topologyFile)};
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
