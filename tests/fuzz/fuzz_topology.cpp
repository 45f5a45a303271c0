// libFuzzer target: any bytes as a topology file. The loader must neither
// throw nor crash, and must explain every refusal with an error diagnostic.
#include "polc/topology/loader.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  polc::Diagnostics diagnostics;
  auto topology = polc::topology::loadText("fuzz.yaml", text, diagnostics);
  if (!topology && !diagnostics.hasErrors()) {
    std::fprintf(stderr, "loadText failed without an error diagnostic\n");
    std::abort();
  }
  // Rendering quotes source lines at arbitrary positions: exercise it too.
  (void)diagnostics.render();
  if (topology) {
    // What the rest of the pipeline relies on from an accepted topology.
    for (const auto* endpoint : topology->allEndpoints()) {
      if (endpoint->addresses.empty()) std::abort();
      for (const auto& address : endpoint->addresses)
        if (!address.isHost()) std::abort();
      if (!endpoint->nameSpace.empty() &&
          endpoint->labels.at(std::string(polc::topology::kNamespaceLabel)) != endpoint->nameSpace)
        std::abort();
    }
    for (const auto& service : topology->services) {
      if (topology->findService(service.name) == nullptr) std::abort();
      (void)topology->backends(service);
    }
  }
  return 0;
}
