#include "object_builder.h"

#include "polc/artifacts/digest.h"
#include "polc/codegen/endpoint_program.h"
#include "polc/driver/progress.h"
#include "polc/support/files.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <thread>

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
  return std::move(*bytes);
}

} // namespace

Expected<std::vector<std::string>>
buildObjects(const fs::path& workDir, const std::vector<ObjectSource>& sources,
             const std::vector<std::string>& includeDirs,
             const std::vector<std::pair<std::string, std::string>>& headers,
             const ObjectBuildOptions& options, ObjectBuildStats& stats) {
  std::vector<std::optional<std::string>> objects(sources.size());
  std::vector<std::string> keys(sources.size());
  std::optional<CompileCache> cache;
  if (options.cacheDir && !sources.empty()) {
    cache.emplace(*options.cacheDir);
    auto clang = codegen::clangPath();
    if (!clang) return Error{clang.error()};
    auto version = cache->clangVersion(*clang);
    if (!version) return Error{version.error()};
    // Everything but the source text, shared by every key of this build.
    std::string common;
    appendKeyField(common, "polc-bpf-object-1");
    appendKeyField(common, *version);
    for (const auto& flag : codegen::bpfCompileFlags(includeDirs)) appendKeyField(common, flag);
    for (const auto& [path, contents] : headers) {
      appendKeyField(common, path);
      appendKeyField(common, contents);
    }
    for (size_t i = 0; i < sources.size(); ++i) {
      // The source's path goes into the debug info: it is part of the key.
      std::string key = common;
      appendKeyField(key, sources[i].path);
      appendKeyField(key, sources[i].text);
      keys[i] = artifacts::sha256Hex(key);
      objects[i] = cache->lookup(keys[i]);
      if (objects[i]) ++stats.cached;
    }
  }

  std::vector<size_t> toCompile;
  for (size_t i = 0; i < sources.size(); ++i)
    if (!objects[i]) toCompile.push_back(i);
  std::vector<std::optional<Error>> errors(sources.size());

  // A small pool: each worker takes the next source to compile; results
  // land in their source's slot, so the output does not depend on timing.
  std::mutex mutex;
  std::condition_variable changed;
  size_t next = 0, finished = 0, stored = 0;
  bool failed = false;
  auto work = [&] {
    for (;;) {
      size_t index;
      {
        std::lock_guard lock(mutex);
        if (failed || next == toCompile.size()) return;
        index = toCompile[next++];
      }
      auto object = compileOne(workDir, sources[index], includeDirs);
      const bool isStored = object && cache && cache->store(keys[index], *object);
      std::lock_guard lock(mutex);
      if (isStored) ++stored;
      if (object) {
        objects[index] = std::move(*object);
      } else {
        errors[index] = Error{object.error()};
        failed = true; // start no more clang runs; the running ones finish
      }
      ++finished;
      changed.notify_all();
    }
  };
  {
    const size_t workers = std::min<size_t>(std::max(1u, options.jobs), toCompile.size());
    std::vector<std::jthread> pool;
    for (size_t i = 0; i < workers; ++i) pool.emplace_back(work);
    // Meanwhile, progress for a person at a terminal.
    BuildProgress progress(options.progress, std::cerr);
    std::unique_lock lock(mutex);
    while (!changed.wait_for(lock, std::chrono::milliseconds(100), [&] {
      return finished == next && (failed || next == toCompile.size());
    }))
      progress.update(finished, toCompile.size());
    lock.unlock();
    progress.finish();
  } // the pool joins here
  stats.compiled += finished;
  // Only a build that stored objects can have grown the cache past its
  // bound, so a build that found every object there walks nothing. An
  // eviction that fails (in part or whole) only leaves the cache larger.
  if (stored > 0 && options.cacheMaxBytes != kUnlimitedCacheBytes) {
    auto evicted = cache->evict(options.cacheMaxBytes);
    if (evicted) stats.evicted += evicted->removed;
  }
  for (auto& error : errors) // the first failed source, in source order
    if (error) return std::move(*error);

  std::vector<std::string> result;
  result.reserve(objects.size());
  for (auto& object : objects) result.push_back(std::move(*object));
  return result;
}

} // namespace polc::driver
