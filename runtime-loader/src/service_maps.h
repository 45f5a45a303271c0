// The service maps' part of a load (bpf/lib/polc_service.h): services.json
// turned into the entries of polc_services, polc_maglev and polc_backends,
// and the update that takes the live maps there writing only what differs,
// in an order where no frontend ever points at a Maglev table or a backend
// that is not there yet (or any more).
#pragma once

#include "load_maps.h"

#include "polc/maps/map_backend.h"
#include "polc/support/expected.h"

#include <nlohmann/json_fwd.hpp>

namespace polc::runtime {

struct ServiceMaps {
  maps::MapContents services, maglev, backends;
};

// The entries of the three maps for a build's services.json. Frontend and
// backend ids are hashes of what they are (vip, protocol and port; address
// and port), so that they stay when other frontends come and go and an
// update rewrites only what changed.
Expected<ServiceMaps> serviceMapContents(const nlohmann::json& services);

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
