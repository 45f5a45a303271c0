// polc status on a real kernel: reads the recorded state, then asks the
// kernel (tc filters, pinned programs and maps) what is there, without
// changing anything.
#pragma once

#include "polc/loader/loader.h"

namespace polc::runtime {

Expected<loader::StatusReport> kernelStatus(const loader::StatusRequest&);

} // namespace polc::runtime
