// The service maps' part of a load (bpf/lib/polc_service.h): services.json
// turned into the entries of polc_services, polc_maglev and polc_backends,
// and the update that takes the live maps there writing only what differs,
// in an order where no frontend ever points at a Maglev table or a backend
// that is not there yet (or any more).
#pragma once

#include "load_maps.h"

#include "polc/maps/map_backend.h"
#include "polc/maps/service_encoding.h"
#include "polc/support/expected.h"

#include <optional>
#include <string_view>

namespace polc::runtime {

// The three maps' entries, encoded by polc_maps (service_encoding.h).
using ServiceMaps = maps::ServiceMapContents;

// The change from the services.json the maps hold (its text, as a snapshot
// kept: table_snapshots.h) to a new one, as the entries that differ, from
// the frontend lines that differ: `before` holds the entries that go or
// change with their values now, `after` those that come or change. Only
// those lines are parsed, and only their Maglev tables built: a one-service
// change costs one service, whatever their number. nullopt when the texts
// are not in toJsonText's form (the caller reads the whole file and the
// maps). A key added that an unchanged line holds too (which the lines
// alone cannot tell) is the caller's to check against the live maps.
struct ServiceMapsDelta {
  ServiceMaps before, after;
  size_t frontends = 0; // polc_services entries of the new file (echo included)
};
std::optional<ServiceMapsDelta> serviceMapDelta(std::string_view beforeText,
                                                std::string_view afterText);

struct ServiceMapHandles {
  maps::MapHandle services = -1, maglev = -1, backends = -1;
};

Expected<ServiceMaps> readServiceMaps(maps::MapBackend&, const ServiceMapHandles&);

// Entries added, removed and rewritten, over the three maps.
maps::ContentChange serviceMapChange(const ServiceMaps& before, const ServiceMaps& after);

// Makes the maps that hold `before` hold `after`: new backends and tables
// first, then the frontends, then what no frontend uses any more. Every
// step's undo is registered before it; `before` and `after` must outlive
// the rollback.
Status updateServiceMaps(maps::MapBackend&, Rollback&, const ServiceMapHandles&,
                         const ServiceMaps& before, const ServiceMaps& after,
                         ServiceMaps& unionScratch);

} // namespace polc::runtime
