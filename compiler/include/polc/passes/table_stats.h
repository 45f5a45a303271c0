// How full the datapath's maps will be: per node and endpoint and direction,
// the policy table's entries against the map's capacity, and per node the
// ipcache's. `polc build --stats` prints it; checkTableCapacity() turns an
// overflow into an error diagnostic at compile time, so `polc check` stops
// on it too instead of the loader failing on a full map.
#pragma once

#include "polc/diagnostics/diagnostics.h"
#include "polc/ir/ir.h"
#include "polc/passes/tables.h"
#include "polc/pipeline/pass.h"
#include "polc/topology/topology.h"

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace polc::passes {

struct DirectionStats {
  size_t entries = 0;
  size_t capacity = 0;
  bool isolated = false;
  size_t rules = 0; // distinct rules that apply to this endpoint and direction
  // Entries of the final table per rule id, largest first (ties: lower id
  // first): who to blame when the table does not fit.
  std::vector<std::pair<uint32_t, size_t>> entriesByRule;
  bool overflows() const { return entries > capacity; }
};

struct EndpointStats {
  std::string name;
  DirectionStats ingress;
  DirectionStats egress;
};

struct NodeStats {
  std::string name;
  size_t ipcacheEntries = 0;
  size_t ipcacheCapacity = 0;
  std::vector<EndpointStats> endpoints; // sorted by name
};

struct TableStats {
  std::vector<NodeStats> nodes; // sorted by name
  size_t policyEntries = 0;     // over every table
  size_t ipcacheEntries = 0;    // over every node
  size_t endpoints = 0;
  size_t isolatedDirections = 0;
};

// Counts the entries of every table (see buildAllTables). Deterministic.
TableStats computeTableStats(const ir::Program&, const std::vector<NodeTables>&);

// An error per table or ipcache that does not fit its map, naming the
// endpoint, direction, count against capacity, and the rules that cost the
// most entries (with their locations as notes) and how to shrink them.
void checkTableCapacity(const ir::Program&, const topology::Topology&, const TableStats&,
                        Diagnostics&);

// Pass "check-table-capacity", tables + IR + topology -> table stats: the two
// functions above, so `polc check` stops on a table too big for its map.
pipeline::Pass createCheckTableCapacityPass();

// Fill in percent of capacity, rounded to two decimals (stable text/JSON).
double fillPercent(size_t entries, size_t capacity);

// The table `polc build --stats` prints, and the same as data.
std::string statsText(const TableStats&);
nlohmann::json statsJson(const TableStats&);

} // namespace polc::passes
