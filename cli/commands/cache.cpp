// polc cache stats|gc|clear: the compile cache of polc build
// (polc/driver/compile_cache.h).
#include "commands.h"

#include "polc/driver/compile_cache.h"

#include <iostream>
#include <memory>

namespace polc::cli {
namespace {

namespace driver = polc::driver;

struct CacheOptions {
  std::string cacheDir;
  uint64_t maxBytes = driver::kDefaultCacheMaxBytes; // gc's bound
};

nlohmann::json timeJson(const std::optional<driver::CacheTime>& time) {
  return time ? nlohmann::json(driver::formatCacheTime(*time)) : nlohmann::json(nullptr);
}

std::string entriesText(size_t count) {
  return std::to_string(count) + (count == 1 ? " entry" : " entries");
}

std::string sizeText(uint64_t bytes) {
  return driver::formatCacheSize(bytes) + " (" + std::to_string(bytes) + " bytes)";
}

// Runs `action` on the cache of --cache-dir (or the default), or says that
// there is none to name.
template <typename Action>
int withCache(const CacheOptions& options, const std::string& what, Format format, Action action) {
  auto dir = cacheDirOrDefault(options.cacheDir);
  if (!dir)
    return failUsage(what,
                     "no cache directory: neither XDG_CACHE_HOME nor HOME is set; give --cache-dir",
                     format);
  return action(driver::CompileCache(*dir));
}

int runStats(const CacheOptions& options, Format format) {
  return withCache(options, "cache stats", format, [&](const driver::CompileCache& cache) {
    auto stats = cache.stats();
    if (!stats) return failSystem("cache stats", stats.failure(), format);
    if (format == Format::Json) {
      printJson(nlohmann::json{{"ok", true},
                               {"dir", cache.root().string()},
                               {"entries", stats->entries},
                               {"bytes", stats->bytes},
                               {"oldest_use", timeJson(stats->oldestUse)},
                               {"newest_use", timeJson(stats->newestUse)}});
      return kExitOk;
    }
    const auto use = [](const std::optional<driver::CacheTime>& time) {
      return time ? driver::formatCacheTime(*time) : std::string("-");
    };
    std::cout << "polc cache: " << cache.root().string() << "\n"
              << "  entries     " << stats->entries << "\n"
              << "  size        " << sizeText(stats->bytes) << "\n"
              << "  oldest use  " << use(stats->oldestUse) << "\n"
              << "  newest use  " << use(stats->newestUse) << "\n";
    return kExitOk;
  });
}

// gc (to maxBytes) and clear (to nothing).
int runEvict(const CacheOptions& options, const std::string& what, uint64_t maxBytes,
             Format format) {
  return withCache(options, what, format, [&](const driver::CompileCache& cache) {
    auto report = cache.evict(maxBytes);
    if (!report) return failSystem(what, report.failure(), format);
    if (report->failed != 0)
      return failSystem(what,
                        report->firstFailure->withContext(
                            "removed " + entriesText(report->removed) + " but " +
                            std::to_string(report->failed) + " could not be removed; the first: "),
                        format);
    if (format == Format::Json) {
      nlohmann::json json{{"ok", true},
                          {"dir", cache.root().string()},
                          {"removed", report->removed},
                          {"removed_bytes", report->removedBytes},
                          {"entries", report->entries},
                          {"bytes", report->bytes}};
      if (maxBytes != 0)
        json["max_bytes"] = maxBytes == driver::kUnlimitedCacheBytes ? nlohmann::json(nullptr)
                                                                     : nlohmann::json(maxBytes);
      printJson(json);
      return kExitOk;
    }
    std::cout << "polc " << what << ": removed " << entriesText(report->removed) << " ("
              << driver::formatCacheSize(report->removedBytes) << ") from " << cache.root().string()
              << "; " << entriesText(report->entries) << " ("
              << driver::formatCacheSize(report->bytes) << ") left";
    if (maxBytes != 0) {
      std::cout << ", bound " << driver::formatCacheSize(maxBytes);
      // Entries a build used while gc ran are kept, even over the bound.
      if (report->bytes > maxBytes) std::cout << " (exceeded: entries in use by a build)";
    }
    std::cout << "\n";
    return kExitOk;
  });
}

} // namespace

void registerCache(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<CacheOptions>();
  auto* cache = app.add_subcommand(
      "cache", "Show or shrink the compile cache of polc build (objects by content digest)");
  cache->require_subcommand(1);
  // Each takes --cache-dir and the output format.
  const auto subcommand = [&](const std::string& name, const std::string& description) {
    auto* command = cache->add_subcommand(name, description);
    addCacheDirOption(command, options->cacheDir);
    addFormatOption(command, context.format, FormatFlag::DeprecatedOutput);
    return command;
  };
  auto* stats = subcommand("stats", "Entries, size and oldest and newest use of the compile cache");
  context.add(stats, [options, &context] { return runStats(*options, context.format); });
  auto* gc =
      subcommand("gc", "Evict the least recently used entries until the cache holds at most --max");
  addCacheSizeOption(gc, "--max", options->maxBytes,
                     "The bound: bytes, or with K, M, G, T (powers of 1024), or unlimited; as "
                     "polc build --cache-max");
  context.add(gc, [options, &context] {
    return runEvict(*options, "cache gc", options->maxBytes, context.format);
  });
  auto* clear = subcommand("clear", "Remove every entry of the compile cache");
  context.add(clear,
              [options, &context] { return runEvict(*options, "cache clear", 0, context.format); });
}

} // namespace polc::cli
