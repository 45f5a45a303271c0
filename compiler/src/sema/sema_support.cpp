#include "sema_support.h"

#include "polc/frontend/printer.h"

namespace polc::sema {

std::map<topology::Labels, uint32_t>
endpointIdentityIndex(const std::vector<ir::Identity>& identities) {
  std::map<topology::Labels, uint32_t> index;
  for (const auto& identity : identities)
    if (identity.kind == ir::Identity::Kind::Endpoint) index.emplace(identity.labels, identity.id);
  return index;
}

void warnIfEmpty(bool empty, const ast::Selector& selector, const std::string& role,
                 Diagnostics& diagnostics) {
  if (!empty) return;
  diagnostics
      .warning(DiagnosticId::EmptySelector, selector.location,
               role + " '" + ast::toText(selector) + "' matches no endpoint of the topology")
      .underline(selector.length);
}

} // namespace polc::sema
