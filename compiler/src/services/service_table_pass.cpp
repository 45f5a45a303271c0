#include "polc/services/service_table_pass.h"

#include "polc/pipeline/stages.h"

#include "polc_structs.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace polc::services {
namespace {

struct Overflow {
  const char* what; // "frontends", "backend entries"
  const char* map;  // "polc_services", ...
  const char* cost; // what makes the count, for a hint; or nullptr
  size_t total = 0; // over every service
  size_t capacity = 0;
  std::map<std::string, size_t> byService;
};

void report(const Overflow& overflow, const topology::Topology& topology,
            Diagnostics& diagnostics) {
  std::vector<std::pair<std::string, size_t>> ranked(overflow.byService.begin(),
                                                     overflow.byService.end());
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  auto locationOf = [&](const std::string& name) {
    const auto* service = topology.findService(name);
    return service ? service->location : SourceLocation{};
  };
  auto& error = diagnostics.error(DiagnosticId::ServiceCapacity, locationOf(ranked.front().first),
                                  "the services need " + std::to_string(overflow.total) + " " +
                                      overflow.what + ", above the capacity of " + overflow.map +
                                      " (" + std::to_string(overflow.capacity) + "); service '" +
                                      ranked.front().first + "' adds " +
                                      std::to_string(ranked.front().second));
  constexpr size_t kShown = 5;
  for (size_t i = 1; i < std::min(ranked.size(), kShown); ++i)
    error.note(locationOf(ranked[i].first), 1,
               "service '" + ranked[i].first + "' adds " + std::to_string(ranked[i].second));
  error.hint("each port of a vip is a frontend (and its echo one more), and a range "
             "(tcp/8000-8099) is one per port: "
             "give only the ports the service serves");
  if (overflow.cost) error.hint(overflow.cost);
}

} // namespace

bool checkServiceCapacity(const topology::Topology& topology, Diagnostics& diagnostics) {
  Overflow frontends{"frontends", "polc_services", nullptr, 0, POLC_FRONTENDS_MAX_ENTRIES, {}};
  Overflow backends{"backend entries",
                    "polc_backends",
                    "each backend with a weight is an entry of each frontend it serves",
                    0,
                    POLC_BACKENDS_MAX_ENTRIES,
                    {}};
  for (const auto& counted : countServiceEntries(topology)) {
    frontends.total += counted.frontends;
    frontends.byService[counted.service] += counted.frontends;
    backends.total += counted.backends;
    backends.byService[counted.service] += counted.backends;
  }
  bool fits = true;
  for (const auto* overflow : {&frontends, &backends})
    if (overflow->total > overflow->capacity) {
      report(*overflow, topology, diagnostics);
      fits = false;
    }
  return fits;
}

pipeline::Pass createBuildServiceTablePass() {
  using namespace pipeline;
  return makePass<topology::Topology>(
      "build-service-table",
      "every vip port's backends and Maglev table; an error for more than the maps hold",
      {stage<ServiceTable>()}, [](PassContext& context, const topology::Topology& topology) {
        // Counted first: a table too big is not built (a Maglev table per
        // frontend would take gigabytes).
        if (checkServiceCapacity(topology, context.diagnostics()))
          context.put(buildServiceTable(topology));
      });
}

} // namespace polc::services
