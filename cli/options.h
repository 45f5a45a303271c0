// What every polc subcommand shares: exit codes, the output format, printing
// diagnostics and JSON, and the options several commands take. A command's
// file (cli/commands/) uses these instead of setting the options up anew.
#pragma once

#include "polc/codegen/program_plan.h"
#include "polc/diagnostics/diagnostics.h"
#include "polc/loader/loader.h"
#include "polc/maps/counter_maps.h"
#include "polc/maps/map_backend.h"
#include "polc/maps/monitor_maps.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace polc::cli {

// Exit codes, as documented in docs/cli.md.
constexpr int kExitOk = 0;
constexpr int kExitInputError = 1;
constexpr int kExitUsage = 2;
constexpr int kExitSystem = 3;
constexpr int kExitInternal = 4; // a bug in polc, never the input's fault

enum class Format { Text, Json };

// What the commands share with main: the output format of the command that
// runs (main's internal-error guard answers in it), and each command's run.
class CommandContext {
public:
  Format format = Format::Text;

  // `run` runs when `command` is the one parsed; it is a leaf (`lab up`).
  void add(CLI::App* command, std::function<int()> run) {
    commands_.emplace_back(command, std::move(run));
  }
  // The run of the parsed command, or null when none was.
  const std::function<int()>* parsed() const;

private:
  std::vector<std::pair<CLI::App*, std::function<int()>>> commands_;
};

// Every JSON document polc prints, laid out as dump(2). Its strings may
// come from outside (a path given on the command line, a message quoting
// one) and hold bytes that are not UTF-8, on which dump() would throw:
// this prints them as U+FFFD instead.
void printJson(const nlohmann::json& json);

// Diagnostics on stderr in text; in JSON they are part of the document.
void printDiagnostics(const polc::Diagnostics& diagnostics, Format format);

// "polc WHAT: " and the error as errorText() prints it on stderr, or
// {"ok": false, "error": errorJson(error)}; exit 3.
int failSystem(const std::string& what, const polc::Error& error, Format format);
int failSystem(const std::string& what, const std::string& message, Format format);
// The same for a usage error found after parsing (something the command
// line must say that it did not): exit 2.
int failUsage(const std::string& what, const std::string& message, Format format);

// The same for an input error that is not a diagnostic (a build output
// named that is not one, a node it does not have): exit 1.
int failInput(const std::string& what, const std::string& message, Format format);

// `text` on stdout when `path` is empty or "-", else into the file `path`
// (written whole, then renamed into place); a file that cannot be written
// is failSystem. Returns the exit code: kExitOk, or failSystem's.
int writeOutput(const std::string& what, const std::string& path, const std::string& text,
                Format format);

// An Error as JSON: {"message", and when known "errno", "object", "libbpf_log"}.
nlohmann::json errorJson(const polc::Error& error);

// "polc WHAT: internal error: MESSAGE (a bug in polc, please report)" on
// stderr (or {"ok": false, "error": {"message"}, "internal_error": true}),
// exit 4: what
// main's guard answers an InternalError or any other exception with.
int failInternal(const std::string& what, const std::string& message, Format format);

// --format text|json: the output format, the one spelling of every command
// that has one (docs/cli.md: -o/--output always names a path). Commands
// that chose the format with -o/--output before take that too, for one
// release (FormatFlag::DeprecatedOutput), hidden from --help and with
// "polc CMD: -o json is deprecated; use --format json" on stderr.
enum class FormatFlag { FormatOnly, DeprecatedOutput };
void addFormatOption(CLI::App* command, Format& format, FormatFlag flag);

// --cache-dir of build and cache: the compile cache's directory; empty
// when not given, for cacheDirOrDefault.
void addCacheDirOption(CLI::App* command, std::string& cacheDir);
// The directory given, else driver::defaultCacheDir() (nullopt when
// neither $XDG_CACHE_HOME nor $HOME is set).
std::optional<std::filesystem::path> cacheDirOrDefault(const std::string& cacheDir);
// A bound on the cache's size (build --cache-max, cache gc --max), as
// driver::parseCacheSize reads it; a size it refuses is a usage error.
CLI::Option* addCacheSizeOption(CLI::App* command, const std::string& name, uint64_t& bytes,
                                const std::string& description);

// The policy and --topology of check, build and explain, and -W.
struct CompileOptions {
  std::string policy;
  std::string topology;
  polc::WarningOptions warnings;

  // An empty store that applies the -W flags.
  polc::Diagnostics diagnostics() const;
};
void addCompileOptions(CLI::App* command, CompileOptions& options);

// -W [no-|error=]NAME, repeatable, of every command that compiles (through
// addCompileOptions, or alone for diff and test). An unknown name, or an
// error named with no-, is a usage error.
void addWarningOptions(CLI::App* command, polc::WarningOptions& warnings);

// --list-diagnostics of check: prints the catalogue in `format` (set by an
// option declared before this one) and exits.
void addListDiagnosticsOption(CLI::App* command, const Format& format);

// --dump-after and --list-passes, of check and build: the build's passes,
// the compiler's then codegen's plan (docs/architecture.md).
void addPassOptions(CLI::App* command, std::string& dumpAfter);
// What --dump-after prints, and its exit code.
int runDump(const CompileOptions& options, const std::string& pass,
            const polc::codegen::PlanOptions& plan = {});

// Where loads go: --pin-root, --state-dir, and with a namespace --netns or
// --lab; --lock-timeout of the commands that take the state dir's lock.
struct PlacementOptions {
  polc::loader::Placement placement;
  std::string labPrefix;
  double lockTimeoutSeconds =
      std::chrono::duration<double>(polc::loader::kDefaultLockTimeout).count();

  std::chrono::milliseconds lockTimeout() const {
    return std::chrono::milliseconds(static_cast<long long>(lockTimeoutSeconds * 1000));
  }
};
void addPlacementOptions(CLI::App* command, PlacementOptions& options);
void addStateDirOption(CLI::App* command, PlacementOptions& options);
void addLockTimeoutOption(CLI::App* command, PlacementOptions& options);

// Whether a node status found belongs to the polc lab `prefix`: loaded into
// its node namespace, or with a state that cannot be read (which does not
// say where it went). What `status --lab` and `unload --lab` act on.
bool inLab(const polc::loader::NodeStatus& node, const std::string& prefix);
// Where the loader looks for a node that no readable record places: the
// lab's node namespace, or nowhere in particular without a prefix (empty).
polc::loader::NodeNetns labNodeNetns(const std::string& prefix);
// The status request that finds them: every node (or `node`) in the state
// dir, an unreadable one looked for in the lab's namespace.
polc::loader::StatusRequest labStatusRequest(const PlacementOptions& options,
                                             const std::string& node);
// The nodes loaded with a readable state (only `node` when given; only the
// lab's with --lab): what monitor, stats and metrics read. An error when
// there is none.
polc::Expected<std::vector<polc::loader::NodeStatus>>
loadedNodes(polc::loader::Loader& loader, const PlacementOptions& options, const std::string& node);
// One of a loaded node's maps (artifacts::kMap*), opened from its pin; when
// it is not pinned, an error saying the node was loaded by a polc without
// `feature` (the monitor, counters) and to load it again.
polc::Expected<polc::maps::OpenMap> openNodeMap(const polc::loader::NodeStatus& node,
                                                const char* map, const char* feature);
// From now on SIGINT and SIGTERM set the flag returned (and interrupt a
// blocking call: no SA_RESTART), so that a command that runs until
// interrupted (monitor, metrics --listen) ends cleanly.
const std::atomic<bool>& catchInterrupts();
// The node's monitor maps: what it reports, counts and audits.
struct NodeMonitorMaps {
  polc::maps::OpenMap config, endpoints;
  polc::maps::MonitorMaps handles() const { return {config.handle(), endpoints.handle()}; }
};
polc::Expected<NodeMonitorMaps> openMonitorMaps(const polc::loader::NodeStatus& node);
// An error naming the first of `names` that no node of `nodes` has (with
// programs): what --endpoint of stats and audit refuses.
polc::Status checkEndpointsLoaded(const std::vector<polc::loader::NodeStatus>& nodes,
                                  const std::vector<std::string>& names);
// The ifindex of each endpoint named, from the node's record; an error
// naming one the node does not have (with programs).
polc::Expected<std::vector<uint32_t>> endpointIndexes(const polc::loader::NodeStatus& node,
                                                      const std::vector<std::string>& names);
// The node's packet and byte counters (polc stats, polc metrics).
polc::Expected<polc::maps::Counters> readNodeCounters(const polc::loader::NodeStatus& node);

} // namespace polc::cli
