// The diagnostic catalogue: every error and warning polc can report, each
// with a stable name (what `[name]` in the output, `-o json`'s "name" and
// `-W` use), a default severity and a one-line description. A call site
// names its diagnostic by id, never by a string, so that the list below is
// complete by construction (`polc check --list-diagnostics` prints it).
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace polc {

enum class Severity { Error, Warning };

enum class DiagnosticId {
#define POLC_DIAGNOSTIC(id, name, severity, description) id,
#include "polc/diagnostics/catalogue.def"
#undef POLC_DIAGNOSTIC
};

struct DiagnosticInfo {
  DiagnosticId id;
  std::string_view name; // lowercase with dashes; never changes once released
  Severity severity;     // the default; -W may change a warning's
  std::string_view description;
};

// Every diagnostic, in the order of DiagnosticId.
std::span<const DiagnosticInfo> diagnosticCatalogue();

const DiagnosticInfo& diagnosticInfo(DiagnosticId id);
inline std::string_view diagnosticName(DiagnosticId id) {
  return diagnosticInfo(id).name;
}
std::optional<DiagnosticId> findDiagnostic(std::string_view name);
// The catalogued name closest to a misspelt one, for "did you mean".
std::optional<std::string> closestDiagnosticName(std::string_view name);

std::string_view severityName(Severity severity); // "error", "warning"

} // namespace polc
