#include "object_builder.h"

#include "polc/artifacts/digest.h"
#include "polc/codegen/endpoint_program.h"
#include "polc/support/files.h"

#include <system_error>

namespace polc::driver {

namespace fs = std::filesystem;

namespace {

// Compiles one source into a temporary object beside the others and returns
// its bytes; the temporary file is removed.
Expected<std::string> compileOne(const fs::path& workDir, const ObjectSource& source,
                                 const std::vector<std::string>& includeDirs) {
  // Named after the source's digest: unique per distinct source.
  const std::string temporary =
      "objects/.compiling-" + artifacts::sha256Hex(source.text).substr(0, 16) + ".o";
  if (auto status = codegen::compileBpfObject({workDir, source.path, temporary, includeDirs});
      !status)
    return Error{status.error()};
  auto bytes = polc::readFile(workDir / temporary);
  std::error_code ignored;
  fs::remove(workDir / temporary, ignored);
  if (!bytes) return Error{bytes.error()};
  return *bytes;
}

} // namespace

Expected<std::vector<std::string>> buildObjects(const fs::path& workDir,
                                                const std::vector<ObjectSource>& sources,
                                                const std::vector<std::string>& includeDirs,
                                                ObjectBuildStats& stats) {
  std::vector<std::string> objects;
  objects.reserve(sources.size());
  for (const auto& source : sources) {
    auto object = compileOne(workDir, source, includeDirs);
    if (!object) return Error{object.error()};
    ++stats.compiled;
    objects.push_back(std::move(*object));
  }
  return objects;
}

} // namespace polc::driver
