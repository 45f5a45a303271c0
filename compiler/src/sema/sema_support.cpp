#include "sema_support.h"

#include "polc/frontend/printer.h"

namespace polc::sema {

void warnIfEmpty(bool empty, const ast::Selector& selector, const std::string& role,
                 Diagnostics& diagnostics) {
  if (!empty) return;
  diagnostics
      .warning("empty-selector", selector.location,
               role + " '" + ast::toText(selector) + "' matches no endpoint of the topology")
      .underline(selector.length);
}

} // namespace polc::sema
