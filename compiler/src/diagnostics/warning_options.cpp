#include "polc/diagnostics/warning_options.h"

#include <string>

namespace polc {

namespace {

Expected<DiagnosticId> lookUp(std::string_view name) {
  if (auto id = findDiagnostic(name)) return *id;
  std::string message = "unknown diagnostic '" + std::string(name) + "'";
  if (auto close = closestDiagnosticName(name)) message += "; did you mean '" + *close + "'?";
  return Error{message + " (polc check --list-diagnostics lists them)"};
}

} // namespace

Status WarningOptions::apply(std::string_view flag) {
  if (flag == "error") {
    warningsAreErrors_ = true;
    return okStatus();
  }
  if (flag.starts_with("error=")) {
    auto id = lookUp(flag.substr(6));
    if (!id) return Error{id.error()};
    overrides_[*id] = Severity::Error; // an error stays one
    return okStatus();
  }
  if (flag.starts_with("no-") && !findDiagnostic(flag)) {
    auto id = lookUp(flag.substr(3));
    if (!id) return Error{id.error()};
    const auto& info = diagnosticInfo(*id);
    if (info.severity == Severity::Error)
      return Error{"'" + std::string(info.name) +
                   "' is an error, which cannot be suppressed; only warnings can"};
    overrides_[*id] = std::nullopt;
    return okStatus();
  }
  auto id = lookUp(flag);
  if (!id) return Error{id.error()};
  overrides_[*id] = diagnosticInfo(*id).severity;
  return okStatus();
}

std::optional<Severity> WarningOptions::severityOf(DiagnosticId id) const {
  if (auto found = overrides_.find(id); found != overrides_.end()) return found->second;
  auto severity = diagnosticInfo(id).severity;
  return warningsAreErrors_ ? Severity::Error : severity;
}

} // namespace polc
