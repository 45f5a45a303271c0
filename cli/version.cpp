#include "version.h"

#include "polc/build_info.h"
#include "polc/codegen/endpoint_program.h"

#include <bpf/libbpf.h>

namespace polc::cli {

std::string versionText() {
  std::string text = std::string("polc ") + POLC_VERSION + "\n";
  text += std::string("commit: ") + POLC_GIT_COMMIT + "\n";
  // libbpf is linked statically: the library at run time is the one built with.
  text += std::string("built with: ") + POLC_CLANG_VERSION + " (" + POLC_CONFIGURED_CLANG +
          "), libbpf " + std::to_string(libbpf_major_version()) + "." +
          std::to_string(libbpf_minor_version()) + "\n";
  auto clang = codegen::clangPath();
  const std::string& headers = codegen::packagedIncludeDir();
  text += "compiles with: " + (clang ? *clang : std::string("no clang found")) +
          ", libbpf's BPF headers from " + (headers.empty() ? "the system" : headers);
  return text;
}

} // namespace polc::cli
