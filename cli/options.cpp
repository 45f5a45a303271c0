#include "options.h"

#include "usage.h"

#include "polc/artifacts/manifest.h"
#include "polc/driver/compile_cache.h"
#include "polc/driver/pipeline.h"
#include "polc/lab/lab.h"
#include "polc/maps/pin_layout.h"
#include "polc/pipeline/pipeline.h"
#include "polc/support/files.h"
#include "polc/support/internal_error.h"

#include <bpf/libbpf.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <iostream>
#include <map>
#include <unistd.h>

namespace polc::cli {

const std::function<int()>* CommandContext::parsed() const {
  for (const auto& [command, run] : commands_)
    if (command->parsed()) return &run;
  return nullptr;
}

void printJson(const nlohmann::json& json) {
  std::cout << polc::artifacts::dumpJson(json);
}

void printDiagnostics(const polc::Diagnostics& diagnostics, Format format) {
  if (format == Format::Json) return; // part of the JSON document instead
  std::cerr << diagnostics.render(::isatty(STDERR_FILENO) == 1);
  if (diagnostics.errorCount() > 0 || diagnostics.warningCount() > 0)
    std::cerr << diagnostics.errorCount() << " error(s), " << diagnostics.warningCount()
              << " warning(s)\n";
}

int failInternal(const std::string& what, const std::string& message, Format format) {
  auto text = polc::internalErrorText(message);
  if (format == Format::Json)
    printJson(nlohmann::json{
        {"ok", false}, {"error", errorJson(polc::Error{text})}, {"internal_error", true}});
  else
    std::cerr << "polc" << (what.empty() ? "" : " " + what) << ": " << text << "\n";
  return kExitInternal;
}

nlohmann::json errorJson(const polc::Error& error) {
  nlohmann::json json{{"message", error.message}};
  if (error.errnum) json["errno"] = *error.errnum;
  if (!error.object.empty()) json["object"] = error.object;
  if (!error.libbpfLog.empty()) json["libbpf_log"] = error.libbpfLog;
  return json;
}

namespace {

int fail(const std::string& what, const polc::Error& error, Format format, int exitCode) {
  if (format == Format::Json)
    printJson(nlohmann::json{{"ok", false}, {"error", errorJson(error)}});
  else
    std::cerr << "polc " << what << ": " << polc::errorText(error) << "\n";
  return exitCode;
}

} // namespace

int failSystem(const std::string& what, const polc::Error& error, Format format) {
  return fail(what, error, format, kExitSystem);
}

int failSystem(const std::string& what, const std::string& message, Format format) {
  return failSystem(what, polc::Error{message}, format);
}

int failInput(const std::string& what, const std::string& message, Format format) {
  return fail(what, polc::Error{message}, format, kExitInputError);
}

int failUsage(const std::string& what, const std::string& message, Format format) {
  return fail(what, polc::Error{message}, format, kExitUsage);
}

int writeOutput(const std::string& what, const std::string& path, const std::string& text,
                Format format) {
  if (path.empty() || path == "-") {
    std::cout << text;
    return kExitOk;
  }
  if (auto written = polc::writeFile(path, text); !written)
    return failSystem(what, written.failure(), format);
  return kExitOk;
}

void addFormatOption(CLI::App* command, Format& format, FormatFlag flag) {
  const auto parse = [&format](const std::string& option, std::string value) {
    std::transform(value.begin(), value.end(), value.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    if (value == "text")
      format = Format::Text;
    else if (value == "json")
      format = Format::Json;
    else
      invalidValue(option, value, "text|json");
  };
  command
      ->add_option_function<std::string>(
          "--format", [parse](const std::string& value) { parse("--format", value); },
          "Output format")
      ->type_name("text|json");
  if (flag != FormatFlag::DeprecatedOutput) return;
  for (const std::string name : {"-o", "--output"})
    command
        ->add_option_function<std::string>(
            name,
            [parse, name, command](const std::string& value) {
              parse(name, value);
              std::cerr << commandPath(command) << ": " << name << " " << value
                        << " is deprecated; use --format " << value << "\n";
            },
            "Deprecated spelling of --format")
        ->type_name("text|json")
        ->group("");
}

void addCacheDirOption(CLI::App* command, std::string& cacheDir) {
  command->add_option("--cache-dir", cacheDir,
                      "Compile cache directory (default: $XDG_CACHE_HOME/polc or ~/.cache/polc)");
}

std::optional<std::filesystem::path> cacheDirOrDefault(const std::string& cacheDir) {
  if (!cacheDir.empty()) return std::filesystem::path(cacheDir);
  return polc::driver::defaultCacheDir();
}

CLI::Option* addCacheSizeOption(CLI::App* command, const std::string& name, uint64_t& bytes,
                                const std::string& description) {
  return command
      ->add_option_function<std::string>(
          name,
          [&bytes, name](const std::string& text) {
            auto size = polc::driver::parseCacheSize(text);
            if (!size) throw CLI::ValidationError(name, size.error());
            bytes = *size;
          },
          description + " (default: " + polc::driver::formatCacheSize(bytes) + ")")
      ->type_name("SIZE");
}

void addCompileOptions(CLI::App* command, CompileOptions& options) {
  existingFile(command->add_option("policy", options.policy, "Policy file (.pol)")->required());
  existingFile(
      command->add_option("-t,--topology", options.topology, "Topology file (YAML)")->required());
  addWarningOptions(command, options.warnings);
}

polc::Diagnostics CompileOptions::diagnostics() const {
  polc::Diagnostics store;
  store.setWarningOptions(warnings);
  return store;
}

void addWarningOptions(CLI::App* command, polc::WarningOptions& warnings) {
  command
      ->add_option_function<std::vector<std::string>>(
          "-W,--warning",
          [&warnings](const std::vector<std::string>& flags) {
            for (const auto& flag : flags)
              if (auto applied = warnings.apply(flag); !applied)
                throw CLI::ValidationError("-W " + flag, applied.error());
          },
          "error=NAME: the warning NAME is an error; no-NAME: it is not reported; NAME: its "
          "default again; error: every warning is an error (repeatable, later wins; names: "
          "polc check --list-diagnostics)")
      ->type_name("[no-|error=]NAME")
      ->allow_extra_args(false);
  // For CI: a typo that only warns (an unknown label key) must fail the job.
  command->add_flag_callback(
      "--strict", [&warnings] { (void)warnings.apply("error"); },
      "Every warning is an error (the same as -W error)");
}

void addListDiagnosticsOption(CLI::App* command, const Format& format) {
  command->add_flag_callback(
      "--list-diagnostics",
      [&format] {
        const auto catalogue = polc::diagnosticCatalogue();
        if (format == Format::Json) {
          auto list = nlohmann::json::array();
          for (const auto& info : catalogue)
            list.push_back({{"name", info.name},
                            {"severity", polc::severityName(info.severity)},
                            {"description", info.description}});
          printJson(list);
        } else {
          size_t width = 0;
          for (const auto& info : catalogue) width = std::max(width, info.name.size());
          for (const auto& info : catalogue)
            std::cout << info.name << std::string(width - info.name.size() + 2, ' ')
                      << polc::severityName(info.severity)
                      << (info.severity == polc::Severity::Error ? "    " : "  ")
                      << info.description << "\n";
        }
        throw CLI::Success();
      },
      "List every diagnostic (name, default severity, description) and exit");
}

void addPassOptions(CLI::App* command, std::string& dumpAfter) {
  static const auto passes = polc::driver::buildPasses(); // names and summaries only
  command
      ->add_option("--dump-after", dumpAfter,
                   "Run the passes through PASS and print the program as that pass left it "
                   "(stable text on stdout), then stop: nothing else is done or written")
      ->check(CLI::Validator(
          [](std::string& name) -> std::string {
            if (passes.find(name)) return {};
            std::string names;
            for (const auto& pass : passes.passes()) names += " " + pass.name;
            return "unknown pass '" + name + "'; the passes are:" + names;
          },
          ""))
      ->type_name("PASS");
  command->add_flag_callback(
      "--list-passes",
      [] {
        std::cout << passes.listText();
        throw CLI::Success();
      },
      "List the passes in order with what each consumes and produces, and exit");
}

int runDump(const CompileOptions& options, const std::string& pass,
            const polc::codegen::PlanOptions& plan) {
  auto diagnostics = options.diagnostics();
  auto dump = polc::driver::dumpAfter({options.policy, options.topology}, pass, diagnostics, plan);
  printDiagnostics(diagnostics, Format::Text);
  if (!dump) return kExitInputError;
  std::cout << *dump;
  return kExitOk;
}

void addPlacementOptions(CLI::App* command, PlacementOptions& options) {
  command->add_option("--pin-root", options.placement.pinRoot, "bpffs directory for pinned maps")
      ->capture_default_str();
  addStateDirOption(command, options);
  auto* netns =
      command->add_option("--netns", options.placement.netns,
                          "Network namespace holding the node's interfaces (default: this one)");
  command
      ->add_option(
          "--lab", options.labPrefix,
          "The node namespace of the `polc lab` with this prefix holds the node's interfaces")
      ->excludes(netns);
}

void addStateDirOption(CLI::App* command, PlacementOptions& options) {
  command
      ->add_option("--state-dir", options.placement.stateDir, "Where polc records what it attached")
      ->capture_default_str();
}

void addLockTimeoutOption(CLI::App* command, PlacementOptions& options) {
  atLeast(command
              ->add_option("--lock-timeout", options.lockTimeoutSeconds,
                           "Seconds to wait for another load or unload of the same state dir")
              ->capture_default_str(),
          0)
      ->type_name("SECONDS");
}

bool inLab(const polc::loader::NodeStatus& node, const std::string& prefix) {
  return !node.stateError.empty() || node.netns == polc::lab::nodeNamespace(prefix, node.node);
}

polc::loader::NodeNetns labNodeNetns(const std::string& prefix) {
  if (prefix.empty()) return {};
  return [prefix](const std::string& node) { return polc::lab::nodeNamespace(prefix, node); };
}

polc::loader::StatusRequest labStatusRequest(const PlacementOptions& options,
                                             const std::string& node) {
  polc::loader::StatusRequest request;
  request.node = node;
  request.stateDir = options.placement.stateDir;
  request.fallbackPinRoot = options.placement.pinRoot;
  request.nodeNetns = labNodeNetns(options.labPrefix);
  return request;
}

polc::Expected<std::vector<polc::loader::NodeStatus>> loadedNodes(polc::loader::Loader& loader,
                                                                  const PlacementOptions& options,
                                                                  const std::string& node) {
  auto report = loader.status(labStatusRequest(options, node));
  if (!report) return polc::Error{report.error()};
  std::vector<polc::loader::NodeStatus> nodes;
  for (auto& found : report->nodes)
    if (found.stateError.empty() && (options.labPrefix.empty() || inLab(found, options.labPrefix)))
      nodes.push_back(std::move(found));
  if (nodes.empty())
    return polc::Error{"nothing loaded" + (node.empty() ? std::string() : " for node " + node) +
                       " (state dir " + options.placement.stateDir.string() + ")"};
  return nodes;
}

polc::Expected<polc::maps::OpenMap> openNodeMap(const polc::loader::NodeStatus& node,
                                                const char* map, const char* feature) {
  const auto pin =
      std::filesystem::path(node.pinRoot) / polc::maps::relativePin(node.node, "", map);
  auto opened = polc::maps::kernelMaps().openPinned(pin);
  if (!opened) return polc::Error{opened.error()};
  if (!opened->valid())
    return polc::Error{"node " + node.node + ": " + pin.string() + " is not pinned (loaded by a " +
                       "polc without " + feature + "? load it again)"};
  return opened;
}

namespace {
std::atomic<bool> interrupted{false};
extern "C" void onInterrupt(int) {
  interrupted = true;
}
} // namespace

const std::atomic<bool>& catchInterrupts() {
  struct sigaction action {};
  action.sa_handler = onInterrupt;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  return interrupted;
}

polc::Expected<NodeMonitorMaps> openMonitorMaps(const polc::loader::NodeStatus& node) {
  auto config = openNodeMap(node, polc::artifacts::kMapMonitorConfig, "the monitor");
  if (!config) return polc::Error{config.error()};
  auto endpoints = openNodeMap(node, polc::artifacts::kMapMonitorEndpoints, "the monitor");
  if (!endpoints) return polc::Error{endpoints.error()};
  return NodeMonitorMaps{std::move(*config), std::move(*endpoints)};
}

polc::Status checkEndpointsLoaded(const std::vector<polc::loader::NodeStatus>& nodes,
                                  const std::vector<std::string>& names) {
  for (const auto& name : names)
    if (std::none_of(nodes.begin(), nodes.end(), [&](const auto& node) {
          return std::any_of(node.endpoints.begin(), node.endpoints.end(),
                             [&](const auto& e) { return e.endpoint == name; });
        }))
      return polc::Error{"no node loaded here has an endpoint " + name + " with programs"};
  return polc::okStatus();
}

polc::Expected<std::vector<uint32_t>> endpointIndexes(const polc::loader::NodeStatus& node,
                                                      const std::vector<std::string>& names) {
  std::vector<uint32_t> indexes;
  for (const auto& name : names) {
    auto it = std::find_if(node.endpoints.begin(), node.endpoints.end(),
                           [&](const auto& e) { return e.endpoint == name; });
    if (it == node.endpoints.end())
      return polc::Error{"node " + node.node + " has no endpoint " + name + " with programs"};
    indexes.push_back(uint32_t(it->ifindex));
  }
  return indexes;
}

polc::Expected<polc::maps::Counters> readNodeCounters(const polc::loader::NodeStatus& node) {
  auto map = openNodeMap(node, polc::artifacts::kMapCounters, "counters");
  if (!map) return polc::Error{map.error()};
  return polc::maps::readCounters(polc::maps::kernelMaps(), map->handle(),
                                  unsigned(libbpf_num_possible_cpus()));
}

} // namespace polc::cli
