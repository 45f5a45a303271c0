// `polc --version`: the release, the commit it was built from, and the
// clang and libbpf it was built with and compiles with.
#pragma once

#include <string>

namespace polc::cli {

// Cheap: no process is started (the run-time clang is found, not run).
std::string versionText();

} // namespace polc::cli
