// Compiles the distinct generated C sources of a build into BPF objects,
// through an on-disk cache and a small pool of clang processes. Internal to
// the driver: write_build.cpp hands it the distinct programs of codegen's
// plan (program_plan.h) and decides where results go.
#pragma once

#include "polc/driver/compile_cache.h"
#include "polc/support/expected.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace polc::driver {

struct ObjectSource {
  std::string path; // relative to the work directory, already written there
  std::string text; // its contents
};

struct ObjectBuildOptions {
  unsigned jobs = 1;                             // clang processes at a time
  std::optional<std::filesystem::path> cacheDir; // nullopt: no cache
  // After storing objects, least recently used entries are evicted until the
  // cache holds at most this many bytes (compile_cache.h).
  uint64_t cacheMaxBytes = kDefaultCacheMaxBytes;
  bool progress = false; // "compiling objects 3/12" on stderr
};

struct ObjectBuildStats {
  size_t compiled = 0; // clang runs
  size_t cached = 0;   // taken from the cache
  size_t evicted = 0;  // entries the build evicted from the cache to keep its bound
};

// Returns the bytes of each source's object, in the order of `sources`
// (whatever the number of jobs). clang runs in workDir with includeDirs
// relative to it; the headers are `headers` (path, contents), for the cache key.
Expected<std::vector<std::string>>
buildObjects(const std::filesystem::path& workDir, const std::vector<ObjectSource>& sources,
             const std::vector<std::string>& includeDirs,
             const std::vector<std::pair<std::string, std::string>>& headers,
             const ObjectBuildOptions& options, ObjectBuildStats& stats);

} // namespace polc::driver
