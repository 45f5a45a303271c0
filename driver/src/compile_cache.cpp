#include "polc/driver/compile_cache.h"

#include "polc/artifacts/digest.h"
#include "polc/codegen/endpoint_program.h"
#include "polc/support/files.h"
#include "polc/support/unique_fd.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

namespace polc::driver {

namespace fs = std::filesystem;

namespace {

bool isLowerHex(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// objects/<prefix>/<file> is an entry: a key (64 lowercase hex digits)
// starting with its directory's two, then ".o". Anything else there (a
// temporary <key>.o.tmp.<pid>.<n>, a stray file) is not the cache's.
bool isEntryName(std::string_view prefix, std::string_view file) {
  constexpr size_t kKeyLength = 64;
  return file.size() == kKeyLength + 2 && file.ends_with(".o") && file.starts_with(prefix) &&
         isLowerHex(file.substr(0, kKeyLength));
}

CacheTime timeOf(const struct timespec& time) {
  return CacheTime(std::chrono::seconds(time.tv_sec) + std::chrono::nanoseconds(time.tv_nsec));
}

Error systemError(const std::string& what, const fs::path& path, int error) {
  return Error{what + " " + path.string() + ": " + std::strerror(error), error, "", ""};
}

// The names in the directory open at `fd` (which stays open), but . and ..
Expected<std::vector<std::string>> directoryNames(int fd, const fs::path& shownAs) {
  int copy = ::dup(fd); // closedir closes the descriptor it was given
  if (copy < 0) return systemError("cannot read", shownAs, errno);
  DIR* dir = ::fdopendir(copy);
  if (!dir) {
    const int error = errno;
    ::close(copy);
    return systemError("cannot read", shownAs, error);
  }
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    const dirent* entry = ::readdir(dir);
    if (!entry) break;
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  const int error = errno;
  ::closedir(dir);
  if (error != 0) return systemError("cannot read", shownAs, error);
  return names;
}

} // namespace

std::optional<fs::path> defaultCacheDir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg && fs::path(xdg).is_absolute())
    return fs::path(xdg) / "polc";
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".cache/polc";
  return std::nullopt;
}

Expected<uint64_t> parseCacheSize(std::string_view text) {
  const auto lower = [](std::string_view in) {
    std::string out(in);
    for (auto& c : out)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
  };
  const std::string quoted = "'" + std::string(text) + "'";
  if (lower(text) == "unlimited") return kUnlimitedCacheBytes;
  const size_t digits = static_cast<size_t>(
      std::find_if(text.begin(), text.end(), [](char c) { return c < '0' || c > '9'; }) -
      text.begin());
  const std::string unit = lower(text.substr(digits));
  unsigned shift = 0;
  if (unit.empty())
    shift = 0;
  else if (unit == "k" || unit == "kib")
    shift = 10;
  else if (unit == "m" || unit == "mib")
    shift = 20;
  else if (unit == "g" || unit == "gib")
    shift = 30;
  else if (unit == "t" || unit == "tib")
    shift = 40;
  if (digits == 0 || (!unit.empty() && shift == 0))
    return Error{"invalid size " + quoted +
                 ": expected a whole number of bytes, optionally with a unit K, M, G or T "
                 "(powers of 1024: 100K, 512M, 2G), or 'unlimited'"};
  uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + digits, value);
  if (error == std::errc::result_out_of_range || value > (kUnlimitedCacheBytes >> shift))
    return Error{"invalid size " + quoted + ": too large; for no bound say 'unlimited'"};
  if (value == 0)
    return Error{"invalid size " + quoted +
                 ": a bound of 0 would keep nothing; for no bound say 'unlimited' (to empty "
                 "the cache: polc cache clear; to build without it: --no-cache)"};
  return value << shift;
}

std::string formatCacheSize(uint64_t bytes) {
  if (bytes == kUnlimitedCacheBytes) return "unlimited";
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  size_t unit = 0;
  while (unit + 1 < std::size(kUnits) && bytes >> (10 * (unit + 1)) != 0) ++unit;
  const uint64_t whole = bytes >> (10 * unit);
  if (unit == 0 || whole << (10 * unit) == bytes) return std::to_string(whole) + " " + kUnits[unit];
  char text[32];
  std::snprintf(text, sizeof text, "%.1f %s",
                static_cast<double>(bytes) / static_cast<double>(uint64_t{1} << (10 * unit)),
                kUnits[unit]);
  return text;
}

void appendKeyField(std::string& out, std::string_view field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
  out += '\n';
}

std::string formatCacheTime(CacheTime time) {
  const std::time_t seconds =
      std::chrono::floor<std::chrono::seconds>(time).time_since_epoch().count();
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

CacheStats summarize(const std::vector<CacheEntry>& entries) {
  CacheStats stats;
  for (const auto& entry : entries) {
    ++stats.entries;
    stats.bytes += entry.bytes;
    if (!stats.oldestUse || entry.lastUse < *stats.oldestUse) stats.oldestUse = entry.lastUse;
    if (!stats.newestUse || entry.lastUse > *stats.newestUse) stats.newestUse = entry.lastUse;
  }
  return stats;
}

std::optional<std::string> CompileCache::lookup(const std::string& key) const {
  const auto path = objectPath(key);
  auto bytes = polc::readFile(path);
  if (!bytes) return std::nullopt;
  // Used now: eviction goes by mtime. Not the file's bytes, only its inode.
  ::utimensat(AT_FDCWD, path.c_str(), nullptr, AT_SYMLINK_NOFOLLOW);
  return std::move(*bytes);
}

bool CompileCache::store(const std::string& key, const std::string& object) const {
  return bool(polc::writeFile(objectPath(key), object));
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

Expected<std::vector<CacheEntry>> CompileCache::entries() const {
  std::vector<CacheEntry> entries;
  const fs::path objects = root_ / "objects";
  UniqueFd top(::open(objects.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!top.valid()) {
    if (errno == ENOENT) return entries; // nothing cached yet
    return systemError("cannot read", objects, errno);
  }
  auto prefixes = directoryNames(top.get(), objects);
  if (!prefixes) return Error{prefixes.failure()};
  for (const auto& prefix : *prefixes) {
    if (prefix.size() != 2 || !isLowerHex(prefix)) continue;
    const fs::path directory = objects / prefix;
    UniqueFd sub(
        ::openat(top.get(), prefix.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub.valid()) {
      // Gone, or not a directory of the layout (a file, a symlink).
      if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) continue;
      return systemError("cannot read", directory, errno);
    }
    auto files = directoryNames(sub.get(), directory);
    if (!files) return Error{files.failure()};
    for (const auto& file : *files) {
      if (!isEntryName(prefix, file)) continue;
      struct stat info {};
      if (::fstatat(sub.get(), file.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue; // evicted meanwhile
        return systemError("cannot stat", directory / file, errno);
      }
      if (!S_ISREG(info.st_mode)) continue;
      entries.push_back({directory / file, static_cast<uint64_t>(info.st_size),
                         timeOf(info.st_mtim), static_cast<uint64_t>(info.st_ino)});
    }
  }
  std::sort(entries.begin(), entries.end(), [](const CacheEntry& a, const CacheEntry& b) {
    return a.lastUse != b.lastUse ? a.lastUse < b.lastUse : a.path < b.path;
  });
  return entries;
}

Expected<CacheStats> CompileCache::stats() const {
  auto listed = entries();
  if (!listed) return Error{listed.failure()};
  return summarize(*listed);
}

EvictionReport CompileCache::evict(const std::vector<CacheEntry>& entries,
                                   uint64_t maxBytes) const {
  EvictionReport report;
  report.entries = entries.size();
  for (const auto& entry : entries) report.bytes += entry.bytes;
  const auto fail = [&](const std::string& what, const fs::path& path, int error) {
    ++report.failed;
    if (!report.firstFailure) report.firstFailure = systemError(what, path, error);
  };
  for (const auto& entry : entries) {
    if (report.bytes <= maxBytes) break;
    const auto gone = [&] {
      --report.entries;
      report.bytes -= entry.bytes;
    };
    struct stat info {};
    if (::lstat(entry.path.c_str(), &info) != 0) {
      if (errno == ENOENT)
        gone(); // another build evicted it
      else
        fail("cannot stat", entry.path, errno);
      continue;
    }
    // Used by a build since it was listed, or written anew: it stays. (A
    // hit between this look and the unlink below still loses the entry; the
    // build that hit has its bytes, a later one compiles them again.)
    if (static_cast<uint64_t>(info.st_ino) != entry.inode || timeOf(info.st_mtim) != entry.lastUse)
      continue;
    if (::unlink(entry.path.c_str()) != 0) {
      if (errno == ENOENT)
        gone();
      else
        fail("cannot remove", entry.path, errno);
      continue;
    }
    gone();
    ++report.removed;
    report.removedBytes += entry.bytes;
  }
  return report;
}

Expected<EvictionReport> CompileCache::evict(uint64_t maxBytes) const {
  auto listed = entries();
  if (!listed) return Error{listed.failure()};
  return evict(*listed, maxBytes);
}

} // namespace polc::driver
