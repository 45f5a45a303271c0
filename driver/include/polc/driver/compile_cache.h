// The on-disk compile cache of `polc build` and `polc cache`: BPF objects
// keyed by the SHA-256 of everything that determines their bytes, shared by
// concurrent builds, bounded in size by least-recently-used eviction
// (docs/cli.md, "polc build" and "polc cache").
//
// Layout below the cache directory:
//   objects/<key[0,2)>/<key>.o   an entry: one object; its mtime is its last use
//   clang/<sha256>.version       clang's --version text per clang binary
// Entries are written atomically (polc::writeFile: a temporary
// <entry>.tmp.<pid>.<n> beside the entry, then rename), so a reader sees a
// whole object or none. Only files named as entries (64 lowercase hex
// digits and .o, in the directory of their first two) count and are ever
// removed: never a temporary another build is writing, never a directory.
#pragma once

#include "polc/support/expected.h"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace polc::driver {

// $XDG_CACHE_HOME/polc, else $HOME/.cache/polc; nullopt when neither is set.
std::optional<std::filesystem::path> defaultCacheDir();

// A bound on the cache's size in bytes. kUnlimitedCacheBytes: no bound.
inline constexpr uint64_t kUnlimitedCacheBytes = std::numeric_limits<uint64_t>::max();
// What a build keeps when not told otherwise (--cache-max): 1 GiB, some
// 10,000 objects of the examples' size.
inline constexpr uint64_t kDefaultCacheMaxBytes = uint64_t{1} << 30;

// A size as --cache-max and --max take it: a whole number of bytes, or one
// with a binary unit K, M, G or T (case-insensitive, optionally followed by
// "iB": 512M = 512MiB = 512 * 2^20), or "unlimited" (kUnlimitedCacheBytes).
// 0 is refused: a bound that keeps nothing is --no-cache or `polc cache
// clear`, and a reader used to ccache could take it for "no bound".
Expected<uint64_t> parseCacheSize(std::string_view text);
// A size for a person: "0 B", "512 B", "85.4 KiB", "1 GiB"; "unlimited".
std::string formatCacheSize(uint64_t bytes);

// Appends a length-prefixed field to a key's text, so that no two different
// field lists hash the same text.
void appendKeyField(std::string& out, std::string_view field);

using CacheTime = std::chrono::sys_time<std::chrono::nanoseconds>;
// "2025-01-31T12:00:05Z" (UTC, whole seconds).
std::string formatCacheTime(CacheTime time);

struct CacheEntry {
  std::filesystem::path path;
  uint64_t bytes = 0;
  CacheTime lastUse; // the file's mtime
  uint64_t inode = 0;
};

struct CacheStats {
  size_t entries = 0;
  uint64_t bytes = 0;
  std::optional<CacheTime> oldestUse, newestUse; // nullopt when empty
};
CacheStats summarize(const std::vector<CacheEntry>& entries);

struct EvictionReport {
  size_t removed = 0;
  uint64_t removedBytes = 0;
  size_t entries = 0; // what remains
  uint64_t bytes = 0;
  // Entries that could not be removed (not one that was gone already): how
  // many, and why the first could not.
  size_t failed = 0;
  std::optional<Error> firstFailure;
};

class CompileCache {
public:
  explicit CompileCache(std::filesystem::path root) : root_(std::move(root)) {}

  const std::filesystem::path& root() const { return root_; }

  // The object stored under `key`, or nullopt (a miss). A hit marks the
  // entry used: its mtime becomes now (utimensat; the file is not
  // rewritten, and a failure to mark it is ignored).
  std::optional<std::string> lookup(const std::string& key) const;

  // Whether the object was stored. A cache that cannot be written only
  // costs time: the caller goes on without it.
  bool store(const std::string& key, const std::string& object) const;

  // clang's --version text, remembered per clang binary (path, size, mtime)
  // so that a warm rebuild runs no clang at all.
  Expected<std::string> clangVersion(const std::string& clang) const;

  // Where the entry of `key` is.
  std::filesystem::path objectPath(const std::string& key) const;

  // Every entry, least recently used first (ties by path). A cache
  // directory that does not exist is empty; one that cannot be read is an
  // error. An entry that vanishes while it is listed is left out. Costs a
  // readdir of objects/ and of each of its (at most 256) directories and a
  // stat per entry.
  Expected<std::vector<CacheEntry>> entries() const;
  Expected<CacheStats> stats() const;

  // Removes entries from the front of `entries` (least recently used first,
  // as entries() lists them) until the rest hold at most maxBytes. Before
  // removing one it looks again: an entry used (or written anew) since it
  // was listed is kept, one that is gone already (another build evicted
  // it) counts as gone. Never fails as a whole: what could not be removed is
  // counted in the report.
  EvictionReport evict(const std::vector<CacheEntry>& entries, uint64_t maxBytes) const;
  // entries() then evict(): what `polc cache gc` and a build that stored
  // objects run.
  Expected<EvictionReport> evict(uint64_t maxBytes) const;

private:
  std::filesystem::path root_;
};

} // namespace polc::driver
