// Reads and validates the topology YAML. Every problem is reported with the
// YAML line and column; nothing throws.
#pragma once

#include "polc/diagnostics/diagnostics.h"
#include "polc/topology/topology.h"

#include <optional>
#include <string>

namespace polc::topology {

std::optional<Topology> loadFile(const std::string& path, Diagnostics& diagnostics);
std::optional<Topology> loadText(const std::string& path, const std::string& text,
                                 Diagnostics& diagnostics);

} // namespace polc::topology
