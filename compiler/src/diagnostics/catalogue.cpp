#include "polc/diagnostics/catalogue.h"

#include "polc/support/suggest.h"

#include <array>
#include <vector>

namespace polc {

namespace {

constexpr std::array kCatalogue = {
#define POLC_DIAGNOSTIC(id, name, severity, description)                                           \
  DiagnosticInfo{DiagnosticId::id, name, Severity::severity, description},
#include "polc/diagnostics/catalogue.def"
#undef POLC_DIAGNOSTIC
};

} // namespace

std::span<const DiagnosticInfo> diagnosticCatalogue() {
  return kCatalogue;
}

const DiagnosticInfo& diagnosticInfo(DiagnosticId id) {
  return kCatalogue.at(static_cast<size_t>(id));
}

std::optional<DiagnosticId> findDiagnostic(std::string_view name) {
  for (const auto& info : kCatalogue)
    if (info.name == name) return info.id;
  return std::nullopt;
}

std::optional<std::string> closestDiagnosticName(std::string_view name) {
  std::vector<std::string> names;
  for (const auto& info : kCatalogue) names.emplace_back(info.name);
  return closestMatch(name, names);
}

std::string_view severityName(Severity severity) {
  return severity == Severity::Error ? "error" : "warning";
}

} // namespace polc
