// The pipeline from inputs to a build output, for the CLI and the tests:
//   .pol + topology YAML -> AST -> IR -> tables  (the compiler's passes,
//   polc/pipeline/pipeline.h) -> program plan: BPF C per distinct program
//   (codegen's plan-programs pass; buildPasses()) -> objects -> out/
//   (writeBuild)
// Each step stops the pipeline when it reported errors.
#pragma once

#include "polc/codegen/program_plan.h"
#include "polc/codegen/specialize_endpoint.h"
#include "polc/diagnostics/diagnostics.h"
#include "polc/driver/compile_cache.h"
#include "polc/ir/ir.h"
#include "polc/passes/table_stats.h"
#include "polc/pipeline/pass.h"
#include "polc/pipeline/stages.h"
#include "polc/services/service_table.h"
#include "polc/support/expected.h"
#include "polc/topology/topology.h"

#include <nlohmann/json_fwd.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace polc::driver {

using Inputs = pipeline::Inputs;

struct Compiled {
  // Every file read: the policy file and its includes, then the topology,
  // as given (an absolute path made relative to the working directory) or as
  // named by include (recorded with digests in the manifest).
  std::vector<std::string> inputFiles;
  topology::Topology topology;
  ir::Program program;
  std::vector<passes::NodeTables> tables; // per node, sorted by name
  passes::TableStats stats;               // every table fits its map (checked by compile)
  services::ServiceTable services;        // every frontend; they fit the service maps too
  std::vector<pipeline::StageTime> times; // each pass's, in order
};

// Parse, load the topology, analyze, and check that every table and ipcache
// fits its map. Errors and warnings go to `diagnostics`. Inputs named by
// absolute paths are read (and named in locations) relative to the working
// directory, so that no build output depends on where the checkout lives.
std::optional<Compiled> compile(const Inputs&, Diagnostics& diagnostics);

// The passes `polc build` runs: the compiler's (pipeline::compilerPasses())
// then codegen's plan-programs (codegen/plan_programs_pass.h). What
// --list-passes lists and --dump-after takes.
pipeline::PassManager buildPasses(const codegen::PlanOptions& = {});

// The passes through find-ineffective-rules: the program with every rule
// resolved, without its tables. What compares or explains verdicts (polc
// diff) needs no more, and table building is most of a large compile.
// Table capacity is not checked. nullopt when a pass reported errors.
std::optional<ir::Program> compileToIr(const Inputs&, Diagnostics& diagnostics);

// Runs the build's passes through `pass` (a name from buildPasses()) and
// returns the text of what it left (pipeline::dumpAfter): `polc build
// --dump-after`. nullopt when a pass reported errors.
std::optional<std::string> dumpAfter(const Inputs&, std::string_view pass, Diagnostics& diagnostics,
                                     const codegen::PlanOptions& = {});

struct BuildReport {
  std::filesystem::path outDir;
  size_t nodes = 0;
  size_t endpoints = 0;
  size_t programs = 0;        // endpoints with programs to attach
  size_t objects = 0;         // distinct objects after content addressing
  size_t objectsCompiled = 0; // clang runs
  size_t objectsCached = 0;   // objects taken from the compile cache
  size_t cacheEvicted = 0;    // cache entries evicted to keep --cache-max
  size_t policyEntries = 0;   // over all tables
  size_t ipcacheEntries = 0;  // over all nodes
  // The build's steps after the passes: prepare (staging directory,
  // headers, identities), plan-programs, write (C, tables, ipcaches),
  // compile-objects, commit (manifest, the output swapped in).
  std::vector<pipeline::StageTime> times;
};

struct BuildOptions {
  unsigned jobs = 0; // clang processes (and threads writing tables) at a time; 0: one per core
  // The compile cache (objects keyed by the SHA-256 of what they are made
  // from); nullopt: no cache. See defaultCacheDir().
  std::optional<std::filesystem::path> cacheDir;
  // After the build stored objects in the cache, its least recently used
  // entries are evicted until it holds at most this many bytes
  // (kUnlimitedCacheBytes: never).
  uint64_t cacheMaxBytes = kDefaultCacheMaxBytes;
  bool progress = false; // "compiling objects 3/12" on stderr for long builds
  // Tables of at most this many entries are compiled in as code rather than
  // looked up in a map; 0: every table is a map.
  unsigned maxInlineEntries = codegen::kMaxInlineEntries;
};

// Writes the complete output directory: tables, ipcache, the generated C
// of codegen's plan, compiled objects and manifest.json. The directory is replaced only when
// everything succeeded. Refuses to replace a directory that is not a polc
// build output.
Expected<BuildReport> writeBuild(const Compiled&, const std::filesystem::path& outDir,
                                 const BuildOptions& options = {});

// What the compiled policy enforces, per node and endpoint, for a person.
std::string describeEnforcement(const Compiled&);
nlohmann::json describeEnforcementJson(const Compiled&);

} // namespace polc::driver
