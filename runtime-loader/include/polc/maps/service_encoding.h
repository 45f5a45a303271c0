// The service maps' entries (bpf/lib/polc_service.h) encoded from a build's
// services.json (services::toJsonText): polc_services, polc_maglev and
// polc_backends as raw bytes, the loader's own encoding, which the
// differential test fills its maps with too. Pure: no kernel contact.
#pragma once

#include "polc/maps/map_encoding.h"
#include "polc/support/expected.h"

#include <nlohmann/json_fwd.hpp>

namespace polc::maps {

struct ServiceMapContents {
  MapContents services, maglev, backends;
};

// One line of "frontends" into `into`: its polc_services entry, its Maglev
// table (none when no backend has a weight: the frontend refuses) and a
// polc_backends entry per backend with a weight. A frontend marked "echo"
// also answers echo requests to its vip: a second polc_services entry
// (ICMP or ICMPv6, port 0) with the same value, so the same table. Errors: a frontend, an id
// or a backend id twice; a field missing or of the wrong type throws.
Status addServiceFrontend(const nlohmann::json& frontend, ServiceMapContents& into);

// The entries of the three maps for a whole services.json, checked: no key
// or id twice, the Maglev table size the datapath's. Ids are the file's
// (stable while other frontends come and go), so an update rewrites only
// what changed.
Expected<ServiceMapContents> toServiceMapContents(const nlohmann::json& servicesJson);

} // namespace polc::maps
