// libFuzzer target: any bytes as a file of a build output that the loader
// reads: manifest.json (manifestFromText, as readManifest), a policy table
// or an ipcache (parsed with nlohmann, then policyTableFromJson and
// ipcacheFromJson, as the load transaction does). Each reader must give a
// value or an error, never throw or crash, and what it accepts must read
// back the same once written.
#include "polc/artifacts/manifest.h"
#include "polc/artifacts/tables.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "%s\n", what);
  std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace artifacts = polc::artifacts;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  if (auto manifest = artifacts::manifestFromText(text)) {
    auto again = artifacts::manifestFromText(artifacts::dumpJson(artifacts::toJson(*manifest)));
    if (!again) fail(("a manifest written back does not read: " + again.error()).c_str());
    if (!(*again == *manifest)) fail("a manifest written back reads differently");
  }

  auto document = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return 0;
  auto reparse = [](const std::string& written) {
    auto parsed = nlohmann::json::parse(written, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) fail("a table written back is not JSON");
    return parsed;
  };
  if (auto table = artifacts::policyTableFromJson(document)) {
    auto again = artifacts::policyTableFromJson(reparse(artifacts::toJsonText(*table)));
    if (!again || !(*again == *table)) fail("a policy table written back reads differently");
  }
  if (auto ipcache = artifacts::ipcacheFromJson(document)) {
    auto again = artifacts::ipcacheFromJson(reparse(artifacts::toJsonText(*ipcache)));
    if (!again || !(*again == *ipcache)) fail("an ipcache written back reads differently");
  }
  return 0;
}
