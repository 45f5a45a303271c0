#include "polc/driver/compile_cache.h"

#include "polc/artifacts/digest.h"
#include "polc/codegen/endpoint_program.h"
#include "polc/support/files.h"

#include <atomic>
#include <cstdlib>
#include <system_error>

#include <sys/stat.h>
#include <unistd.h>

namespace polc::driver {

namespace fs = std::filesystem;

namespace {

// Writes a file so that readers see either nothing or all of it: a unique
// temporary name in the same directory, then rename.
Status writeAtomically(const fs::path& path, std::string_view contents) {
  static std::atomic<unsigned> counter{0};
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) return Error{"cannot create " + path.parent_path().string() + ": " + ec.message()};
  fs::path temporary = path;
  temporary += ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  if (auto status = polc::writeFile(temporary, contents); !status) return status;
  fs::rename(temporary, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(temporary, ignored);
    return Error{"cannot rename " + temporary.string() + ": " + ec.message()};
  }
  return okStatus();
}

} // namespace

std::optional<fs::path> defaultCacheDir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg && fs::path(xdg).is_absolute())
    return fs::path(xdg) / "polc";
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".cache/polc";
  return std::nullopt;
}

void appendKeyField(std::string& out, std::string_view field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
  out += '\n';
}

std::optional<std::string> CompileCache::lookup(const std::string& key) const {
  auto bytes = polc::readFile(objectPath(key));
  if (!bytes) return std::nullopt;
  return std::move(*bytes);
}

void CompileCache::store(const std::string& key, const std::string& object) const {
  [[maybe_unused]] auto ignored = writeAtomically(objectPath(key), object);
}

Expected<std::string> CompileCache::clangVersion(const std::string& clang) const {
  struct stat info {};
  if (::stat(clang.c_str(), &info) != 0) return codegen::clangVersion(clang);
  std::string identity;
  appendKeyField(identity, clang);
  appendKeyField(identity, std::to_string(info.st_size));
  appendKeyField(identity,
                 std::to_string(info.st_mtim.tv_sec) + "." + std::to_string(info.st_mtim.tv_nsec));
  fs::path remembered = root_ / "clang" / (artifacts::sha256Hex(identity) + ".version");
  if (auto text = polc::readFile(remembered)) return std::move(*text);
  auto version = codegen::clangVersion(clang);
  if (version) [[maybe_unused]]
    auto ignored = writeAtomically(remembered, *version);
  return version;
}

fs::path CompileCache::objectPath(const std::string& key) const {
  return root_ / "objects" / key.substr(0, 2) / (key + ".o");
}

} // namespace polc::driver
