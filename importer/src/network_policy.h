// One NetworkPolicy (networking.k8s.io/v1) as one polc policy, with the
// API's semantics exactly (docs/kubernetes.md has the field-by-field table):
// isolation per direction from policyTypes and its defaulting, empty versus
// absent selectors, peers and ports, peers' selectors ANDed within an item
// and items ORed, label selectors with every operator, ports by number, name
// and range, ipBlock with except.
#pragma once

#include "cluster_objects.h"

#include <optional>
#include <string>

namespace polc::importer {

// The policy's text (a comment naming its object, then `policy "NS/NAME"
// { ... }`), not yet formatted. nullopt when an error was reported; with
// --lenient, what polc cannot say is left out or approximated, and a
// comment in the text says so.
std::optional<std::string> translateNetworkPolicy(const PolicyObject& policy,
                                                  const Cluster& cluster, Reporter& reporter);

} // namespace polc::importer
