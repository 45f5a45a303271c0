// Compiles the distinct generated C sources of a build into BPF objects.
// Internal to the driver: write_build.cpp decides what is distinct and where
// the results go.
#pragma once

#include "polc/support/expected.h"

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace polc::driver {

struct ObjectSource {
  std::string path; // relative to the work directory, already written there
  std::string text; // its contents
};

struct ObjectBuildStats {
  size_t compiled = 0; // clang runs
  size_t cached = 0;   // taken from the cache
};

// Returns the bytes of each source's object, in the order of `sources`.
// clang runs in workDir with includeDirs relative to it.
Expected<std::vector<std::string>> buildObjects(const std::filesystem::path& workDir,
                                                const std::vector<ObjectSource>& sources,
                                                const std::vector<std::string>& includeDirs,
                                                ObjectBuildStats& stats);

} // namespace polc::driver
