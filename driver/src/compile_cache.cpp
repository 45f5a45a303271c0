#include "polc/driver/compile_cache.h"

#include "polc/artifacts/digest.h"
#include "polc/codegen/endpoint_program.h"
#include "polc/support/files.h"

#include <cstdlib>

#include <sys/stat.h>

namespace polc::driver {

namespace fs = std::filesystem;

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
  [[maybe_unused]] auto ignored = polc::writeFile(objectPath(key), object);
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
    auto ignored = polc::writeFile(remembered, *version);
  return version;
}

fs::path CompileCache::objectPath(const std::string& key) const {
  return root_ / "objects" / key.substr(0, 2) / (key + ".o");
}

} // namespace polc::driver
