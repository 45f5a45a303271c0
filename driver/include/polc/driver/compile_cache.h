// The on-disk compile cache of `polc build`: BPF objects keyed by the
// SHA-256 of everything that determines their bytes, shared by concurrent
// builds (docs/cli.md, "polc build").
//
// Layout below the cache directory:
//   objects/<key[0,2)>/<key>.o   an entry: one object
//   clang/<sha256>.version       clang's --version text per clang binary
// Entries are written atomically (polc::writeFile: a temporary beside the
// entry, then rename), so a reader sees a whole object or none.
#pragma once

#include "polc/support/expected.h"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace polc::driver {

// $XDG_CACHE_HOME/polc, else $HOME/.cache/polc; nullopt when neither is set.
std::optional<std::filesystem::path> defaultCacheDir();

// Appends a length-prefixed field to a key's text, so that no two different
// field lists hash the same text.
void appendKeyField(std::string& out, std::string_view field);

class CompileCache {
public:
  explicit CompileCache(std::filesystem::path root) : root_(std::move(root)) {}

  const std::filesystem::path& root() const { return root_; }

  // The object stored under `key`, or nullopt (a miss).
  std::optional<std::string> lookup(const std::string& key) const;

  // A cache that cannot be written only costs time: failures are ignored.
  void store(const std::string& key, const std::string& object) const;

  // clang's --version text, remembered per clang binary (path, size, mtime)
  // so that a warm rebuild runs no clang at all.
  Expected<std::string> clangVersion(const std::string& clang) const;

  // Where the entry of `key` is.
  std::filesystem::path objectPath(const std::string& key) const;

private:
  std::filesystem::path root_;
};

} // namespace polc::driver
