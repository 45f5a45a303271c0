// In the unit tests an internal error (a bug in polc) aborts the test
// binary instead of throwing: gtest reports the crash as a failure even in
// a test that expects an exception or only checks that something failed.
#include "polc/support/internal_error.h"

namespace {
[[maybe_unused]] const bool installed = [] {
  polc::setInternalErrorsAbort(true);
  return true;
}();
} // namespace
