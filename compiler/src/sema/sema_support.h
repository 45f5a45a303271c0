// Small helpers shared by the lowering passes of sema (internal).
#pragma once

#include "polc/diagnostics/diagnostics.h"
#include "polc/frontend/ast.h"
#include "polc/ir/ir.h"
#include "polc/topology/topology.h"

#include <map>

#include <algorithm>
#include <string>
#include <vector>

namespace polc::sema {

template <typename T> inline void sortUnique(std::vector<T>& values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
}

// Endpoint label set -> its identity, built once per lowering so that
// per-endpoint lookups are not scans of every identity.
std::map<topology::Labels, uint32_t> endpointIdentityIndex(const std::vector<ir::Identity>&);

// The `empty-selector` warning, when `empty`.
void warnIfEmpty(bool empty, const ast::Selector& selector, const std::string& role,
                 Diagnostics& diagnostics);

} // namespace polc::sema
