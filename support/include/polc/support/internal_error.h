// Internal errors: a broken invariant of polc itself (a pass reading a stage
// it did not declare, a pipeline out of order), never something the user
// did. They are not diagnostics: internalError() throws InternalError, which
// only the CLI's guard catches (exit 4, "internal error: ... (a bug in polc,
// please report)"), after unwinding so that RAII guards still clean up.
//
// Tests always fail on them, whatever they check (docs/architecture.md,
// "Diagnostics"): with POLC_INTERNAL_ERROR_LOG set (ctest sets it for every
// test that runs a process) each one is appended to that file, which a
// last test requires to be empty; and a test binary can make them abort
// (setInternalErrorsAbort), which gtest reports as a crash.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace polc {

class InternalError : public std::logic_error {
public:
  using std::logic_error::logic_error;
};

[[noreturn]] void internalError(const std::string& message);

// "internal error: WHAT (a bug in polc, please report)", as polc prints it.
std::string internalErrorText(std::string_view what);

// Appends `what` to $POLC_INTERNAL_ERROR_LOG when it is set (the CLI's guard
// does so for an unexpected exception; internalError() for its own).
void recordInternalError(std::string_view what);

// From then on internalError() prints its message and aborts instead of
// throwing (for test binaries: a crash fails any test, even one that
// expects an exception or a failure).
void setInternalErrorsAbort(bool abort);

} // namespace polc
