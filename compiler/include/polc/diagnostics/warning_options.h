// What `-W` asks of the diagnostics, as compilers have it:
//   -W error=NAME   the warning NAME is reported as an error
//   -W error        every warning is
//   -W no-NAME      the warning NAME is not reported
//   -W NAME         NAME has its default severity again
// Later flags win over earlier ones for the same name, and a flag naming a
// diagnostic wins over `-W error`. Errors cannot be turned off or down: a
// policy with an error has no meaning polc could build.
#pragma once

#include "polc/diagnostics/catalogue.h"
#include "polc/support/expected.h"

#include <map>
#include <optional>
#include <string_view>

namespace polc {

class WarningOptions {
public:
  // Applies one flag; an error for an unknown name (with a "did you mean")
  // or for an error named with no-.
  Status apply(std::string_view flag);

  // The severity `id` is reported with, or nullopt when it is suppressed.
  std::optional<Severity> severityOf(DiagnosticId id) const;

private:
  // Per name: its severity, or nullopt for suppressed.
  std::map<DiagnosticId, std::optional<Severity>> overrides_;
  bool warningsAreErrors_ = false;
};

} // namespace polc
