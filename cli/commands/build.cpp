// polc build: compile a policy for a topology into an output directory.
#include "commands.h"

#include "polc/artifacts/manifest.h"
#include "polc/driver/pipeline.h"
#include "polc/driver/verify_build.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <unistd.h>

namespace polc::cli {
namespace {

struct BuildCommandOptions {
  CompileOptions compile;
  std::string dumpAfter;
  std::string outDir = "out";
  bool quiet = false;
  unsigned jobs = 0;
  std::string cacheDir;
  bool noCache = false;
  uint64_t cacheMaxBytes = polc::driver::kDefaultCacheMaxBytes;
  unsigned maxInlineEntries = polc::codegen::kMaxInlineEntries;
  bool stats = false;
};

// The passes' times, then the build's steps: where a build's time goes.
std::vector<polc::pipeline::StageTime> stageTimes(const polc::driver::Compiled& compiled,
                                                  const polc::driver::BuildReport& report) {
  auto times = compiled.times;
  times.insert(times.end(), report.times.begin(), report.times.end());
  return times;
}

double milliseconds(std::chrono::nanoseconds elapsed) {
  return std::chrono::duration<double, std::milli>(elapsed).count();
}

nlohmann::json stageTimesJson(const std::vector<polc::pipeline::StageTime>& times) {
  auto json = nlohmann::json::array();
  for (const auto& time : times)
    json.push_back(
        {{"stage", time.stage}, {"ms", std::round(milliseconds(time.elapsed) * 1000) / 1000}});
  return json;
}

std::string stageTimesText(const std::vector<polc::pipeline::StageTime>& times) {
  std::chrono::nanoseconds total{0};
  size_t width = 5; // "total"
  for (const auto& time : times) {
    total += time.elapsed;
    width = std::max(width, time.stage.size());
  }
  std::string text;
  auto line = [&](const std::string& stage, std::chrono::nanoseconds elapsed) {
    char figures[64];
    std::snprintf(figures, sizeof figures, "%10.1f ms %6.1f%%", milliseconds(elapsed),
                  total.count() ? 100.0 * double(elapsed.count()) / double(total.count()) : 0.0);
    text += "  " + stage + std::string(width - stage.size(), ' ') + figures + "\n";
  };
  for (const auto& time : times) line(time.stage, time.elapsed);
  line("total", total);
  return text;
}

int runBuild(const CompileOptions& options, const std::string& outDir,
             polc::driver::BuildOptions buildOptions, Format format, bool quiet, bool stats) {
  auto diagnostics = options.diagnostics();
  auto compiled = polc::driver::compile({options.policy, options.topology}, diagnostics);
  printDiagnostics(diagnostics, format);
  if (!compiled) {
    if (format == Format::Json)
      printJson(nlohmann::json{{"ok", false}, {"diagnostics", diagnostics.toJson()}});
    return kExitInputError;
  }
  auto report = polc::driver::writeBuild(*compiled, outDir, buildOptions);
  if (!report) return failSystem("build", report.failure(), format);
  if (format == Format::Json) {
    nlohmann::json json{{"ok", true},
                        {"out", report->outDir.string()},
                        {"nodes", report->nodes},
                        {"endpoints", report->endpoints},
                        {"programs", report->programs},
                        {"objects", report->objects},
                        {"objects_compiled", report->objectsCompiled},
                        {"objects_cached", report->objectsCached},
                        {"cache_evicted", report->cacheEvicted},
                        {"policy_entries", report->policyEntries},
                        {"ipcache_entries", report->ipcacheEntries},
                        {"diagnostics", diagnostics.toJson()},
                        {"enforcement", polc::driver::describeEnforcementJson(*compiled)}};
    if (stats) {
      json["stats"] = polc::passes::statsJson(compiled->stats);
      json["stats"]["times"] = stageTimesJson(stageTimes(*compiled, *report));
      auto verified = polc::driver::verifyBuild(report->outDir);
      if (!verified) return failSystem("build --stats", verified.failure(), format);
      json["stats"]["verifier"] = polc::driver::verifierStatsJson(*verified);
    }
    printJson(json);
    return kExitOk;
  }
  std::cout << "polc: built " << outDir << ": " << report->nodes << " node(s), "
            << report->endpoints << " endpoint(s), " << report->programs << " with programs in "
            << report->objects << " object(s) (" << report->objectsCompiled << " compiled, "
            << report->objectsCached << " from the cache), " << report->policyEntries
            << " policy table entries, " << report->ipcacheEntries << " ipcache entries";
  if (report->cacheEvicted != 0)
    std::cout << "; evicted " << report->cacheEvicted
              << (report->cacheEvicted == 1 ? " cache entry" : " cache entries")
              << " used least recently (--cache-max)";
  std::cout << "\n";
  if (stats) {
    std::cout << "\nTime per stage:\n" << stageTimesText(stageTimes(*compiled, *report));
    std::cout << "\nTable sizes:\n" << polc::passes::statsText(compiled->stats);
    auto verified = polc::driver::verifyBuild(report->outDir);
    if (!verified) return failSystem("build --stats", verified.failure(), format);
    std::cout << "\nVerifier (instructions processed per program, kernel limit "
              << polc::driver::kVerifierInstructionLimit << "):\n"
              << polc::driver::verifierStatsText(*verified);
  }
  if (quiet) return kExitOk;
  // What it enforces first: that is what a person reads the output for.
  std::cout << "\nWhat it enforces:\n" << polc::driver::describeEnforcement(*compiled);
  auto manifest = polc::artifacts::readManifest(outDir);
  if (manifest) {
    std::cout << "\nFiles (" << manifest->files.size() + 1 << ", digests in manifest.json):\n";
    for (const auto& [path, digest] : manifest->files)
      if (!path.starts_with("bpf/lib/"))
        std::cout << "  " << path << "  sha256:" << digest.substr(0, 12) << "\n";
    std::cout << "  bpf/lib/*.h  (the datapath headers the objects were built from)\n";
  }
  return kExitOk;
}

int run(const BuildCommandOptions& options, Format format) {
  // What -o names is the output directory, as everywhere (docs/cli.md);
  // `-o json` is most likely meant as the format, as it was for check.
  std::error_code error;
  if ((options.outDir == "json" || options.outDir == "text") &&
      !std::filesystem::exists(options.outDir, error))
    return failUsage("build",
                     "-o " + options.outDir + " names the output directory; for " +
                         (options.outDir == "json" ? "JSON" : "text") + " output use --format " +
                         options.outDir + " (for a directory of that name: -o ./" + options.outDir +
                         ")",
                     format);
  // Checked before compiling, and said as the input error it is; the build
  // checks again when it replaces the directory.
  if (options.dumpAfter.empty() && std::filesystem::exists(options.outDir, error) &&
      !std::filesystem::exists(std::filesystem::path(options.outDir) / "manifest.json", error) &&
      !(std::filesystem::is_directory(options.outDir, error) &&
        std::filesystem::is_empty(options.outDir, error)))
    return failInput("build",
                     options.outDir +
                         " exists and is not a polc build output (no manifest.json); not "
                         "replacing it: name another directory with -o, or remove it",
                     format);
  if (!options.dumpAfter.empty())
    return runDump(options.compile, options.dumpAfter,
                   {.maxInlineEntries = options.maxInlineEntries});
  polc::driver::BuildOptions buildOptions;
  buildOptions.jobs = options.jobs;
  buildOptions.maxInlineEntries = options.maxInlineEntries;
  if (!options.noCache) buildOptions.cacheDir = cacheDirOrDefault(options.cacheDir);
  buildOptions.cacheMaxBytes = options.cacheMaxBytes;
  // Progress only for a person watching: never into a log or a pipe.
  buildOptions.progress = ::isatty(STDERR_FILENO) == 1;
  return runBuild(options.compile, options.outDir, buildOptions, format, options.quiet,
                  options.stats);
}

} // namespace

void registerBuild(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<BuildCommandOptions>();
  auto* build =
      app.add_subcommand("build", "Compile a policy for a topology into an output directory");
  addCompileOptions(build, options->compile);
  addPassOptions(build, options->dumpAfter);
  build->add_option("-o,--out", options->outDir, "Output directory (replaced as a whole)")
      ->capture_default_str()
      ->type_name("DIR");
  addFormatOption(build, context.format, FormatFlag::FormatOnly);
  build->add_flag("-q,--quiet", options->quiet, "Print only the one-line summary");
  positive(build->add_option(
      "-j,--jobs", options->jobs,
      "clang processes, and threads writing tables, at a time (default: one per core)"));
  addCacheDirOption(build, options->cacheDir);
  auto* noCache =
      build->add_flag("--no-cache", options->noCache, "Neither read nor fill the compile cache");
  addCacheSizeOption(build, "--cache-max", options->cacheMaxBytes,
                     "After storing new objects, evict the least recently used until the compile "
                     "cache holds at most SIZE: bytes, or with K, M, G, T (powers of 1024), or "
                     "unlimited")
      ->excludes(noCache);
  build
      ->add_option("--inline-max", options->maxInlineEntries,
                   "Compile tables of at most N entries into the program as code instead of a "
                   "map lookup (faster per packet; a change to such a table reloads the program "
                   "instead of updating its map in place); 0: never")
      ->capture_default_str();
  build->add_flag("--stats", options->stats,
                  "Also print table sizes (entries, capacity and fill per endpoint and direction, "
                  "ipcache per node) and, per program, the instructions the kernel's verifier "
                  "processed against its limit (n/a without root)");
  context.add(build, [options, &context] { return run(*options, context.format); });
}

} // namespace polc::cli
