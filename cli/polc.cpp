// polc: the command line. A thin front: every command is a call into one of
// the stage libraries; this file only parses options and prints results.
#include "polc/artifacts/bundle.h"
#include "polc/artifacts/manifest.h"
#include "polc/driver/pipeline.h"
#include "polc/driver/verify_build.h"
#include "polc/evaluator/explain.h"
#include "polc/evaluator/policy_diff.h"
#include "polc/evaluator/policy_tests.h"
#include "polc/frontend/formatter.h"
#include "polc/lab/lab.h"
#include "polc/loader/loader.h"
#include "polc/pipeline/pipeline.h"
#include "polc/support/files.h"
#include "polc/support/protocol.h"
#include "polc/topology/loader.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cctype>
#include <chrono>
#include <iostream>
#include <netinet/in.h>
#include <unistd.h>

namespace {

// Exit codes, as documented in docs/cli.md.
constexpr int kExitOk = 0;
constexpr int kExitInputError = 1;
constexpr int kExitUsage = 2;
constexpr int kExitSystem = 3;

enum class Format { Text, Json };

// Every JSON document polc prints, laid out as dump(2). Its strings may
// come from outside (a path given on the command line, a message quoting
// one) and hold bytes that are not UTF-8, on which dump() would throw:
// dumpJson prints them as U+FFFD instead.
void printJson(const nlohmann::json& json) {
  std::cout << polc::artifacts::dumpJson(json);
}

void addFormatOption(CLI::App* command, Format& format) {
  command->add_option("-o,--output", format, "Output format: text or json")
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, Format>{{"text", Format::Text}, {"json", Format::Json}},
          CLI::ignore_case));
}

void printDiagnostics(const polc::Diagnostics& diagnostics, Format format) {
  if (format == Format::Json) return; // part of the JSON document instead
  std::cerr << diagnostics.render(::isatty(STDERR_FILENO) == 1);
  if (diagnostics.errorCount() > 0 || diagnostics.warningCount() > 0)
    std::cerr << diagnostics.errorCount() << " error(s), " << diagnostics.warningCount()
              << " warning(s)\n";
}

int failSystem(const std::string& what, const std::string& message, Format format) {
  if (format == Format::Json)
    printJson(nlohmann::json{{"ok", false}, {"error", message}});
  else
    std::cerr << "polc " << what << ": " << message << "\n";
  return kExitSystem;
}

struct CompileOptions {
  std::string policy;
  std::string topology;
};

void addCompileOptions(CLI::App* command, CompileOptions& options) {
  command->add_option("policy", options.policy, "Policy file (.pol)")
      ->required()
      ->check(CLI::ExistingFile);
  command->add_option("-t,--topology", options.topology, "Topology file (YAML)")
      ->required()
      ->check(CLI::ExistingFile);
}

// --dump-after and --list-passes, of check and build: the compiler's passes
// (docs/architecture.md).
void addPassOptions(CLI::App* command, std::string& dumpAfter) {
  const auto& passes = polc::pipeline::compilerPasses();
  command
      ->add_option("--dump-after", dumpAfter,
                   "Run the passes through PASS and print the program as that pass left it "
                   "(stable text on stdout), then stop: nothing else is done or written")
      ->check(CLI::Validator(
          [&passes](std::string& name) -> std::string {
            if (passes.find(name)) return {};
            std::string names;
            for (const auto& pass : passes.passes()) names += " " + pass.name;
            return "unknown pass '" + name + "'; the passes are:" + names;
          },
          "PASS"));
  command->add_flag_callback(
      "--list-passes",
      [&passes] {
        std::cout << passes.listText();
        throw CLI::Success();
      },
      "List the passes in order with what each consumes and produces, and exit");
}

int runDump(const CompileOptions& options, const std::string& pass) {
  polc::Diagnostics diagnostics;
  auto dump = polc::driver::dumpAfter({options.policy, options.topology}, pass, diagnostics);
  printDiagnostics(diagnostics, Format::Text);
  if (!dump) return kExitInputError;
  std::cout << *dump;
  return kExitOk;
}

int runCheck(const CompileOptions& options, Format format) {
  polc::Diagnostics diagnostics;
  auto compiled = polc::driver::compile({options.policy, options.topology}, diagnostics);
  printDiagnostics(diagnostics, format);
  if (format == Format::Json) {
    printJson(nlohmann::json{{"ok", compiled.has_value()}, {"diagnostics", diagnostics.toJson()}});
  } else if (compiled) {
    std::cout << options.policy << ": ok (" << compiled->program.rules.size() << " rules, "
              << compiled->program.endpoints.size() << " endpoints)\n";
  }
  return compiled ? kExitOk : kExitInputError;
}

int runBuild(const CompileOptions& options, const std::string& outDir,
             polc::driver::BuildOptions buildOptions, Format format, bool quiet, bool stats) {
  polc::Diagnostics diagnostics;
  auto compiled = polc::driver::compile({options.policy, options.topology}, diagnostics);
  printDiagnostics(diagnostics, format);
  if (!compiled) {
    if (format == Format::Json)
      printJson(nlohmann::json{{"ok", false}, {"diagnostics", diagnostics.toJson()}});
    return kExitInputError;
  }
  auto report = polc::driver::writeBuild(*compiled, outDir, buildOptions);
  if (!report) return failSystem("build", report.error(), format);
  if (format == Format::Json) {
    nlohmann::json json{{"ok", true},
                        {"out", report->outDir.string()},
                        {"nodes", report->nodes},
                        {"endpoints", report->endpoints},
                        {"programs", report->programs},
                        {"objects", report->objects},
                        {"objects_compiled", report->objectsCompiled},
                        {"objects_cached", report->objectsCached},
                        {"policy_entries", report->policyEntries},
                        {"ipcache_entries", report->ipcacheEntries},
                        {"diagnostics", diagnostics.toJson()},
                        {"enforcement", polc::driver::describeEnforcementJson(*compiled)}};
    if (stats) {
      json["stats"] = polc::passes::statsJson(compiled->stats);
      auto verified = polc::driver::verifyBuild(report->outDir);
      if (!verified) return failSystem("build --stats", verified.error(), format);
      json["stats"]["verifier"] = polc::driver::verifierStatsJson(*verified);
    }
    printJson(json);
    return kExitOk;
  }
  std::cout << "polc: built " << outDir << ": " << report->nodes << " node(s), "
            << report->endpoints << " endpoint(s), " << report->programs << " with programs in "
            << report->objects << " object(s) (" << report->objectsCompiled << " compiled, "
            << report->objectsCached << " from the cache), " << report->policyEntries
            << " policy table entries, " << report->ipcacheEntries << " ipcache entries\n";
  if (stats) {
    std::cout << "\nTable sizes:\n" << polc::passes::statsText(compiled->stats);
    auto verified = polc::driver::verifyBuild(report->outDir);
    if (!verified) return failSystem("build --stats", verified.error(), format);
    std::cout << "\nVerifier (instructions processed per program, kernel limit "
              << polc::driver::kVerifierInstructionLimit << "):\n"
              << polc::driver::verifierStatsText(*verified);
  }
  if (quiet) return kExitOk;
  auto manifest = polc::artifacts::readManifest(outDir);
  if (manifest) {
    std::cout << "\nFiles (" << manifest->files.size() + 1 << ", digests in manifest.json):\n";
    for (const auto& [path, digest] : manifest->files)
      if (!path.starts_with("bpf/lib/"))
        std::cout << "  " << path << "  sha256:" << digest.substr(0, 12) << "\n";
    std::cout << "  bpf/lib/*.h  (the datapath headers the objects were built from)\n";
  }
  std::cout << "\nWhat it enforces:\n" << polc::driver::describeEnforcement(*compiled);
  return kExitOk;
}

// One bundle per node (all nodes by default): DIR/<node>/, a build output of
// its own that `polc load` takes as it is.
int runBundle(const std::string& outDir, std::vector<std::string> nodes,
              const std::string& bundlesDir, Format format) {
  if (nodes.empty()) {
    auto manifest = polc::artifacts::readManifest(outDir);
    if (!manifest) return failSystem("bundle", manifest.error(), format);
    for (const auto& node : manifest->nodes) nodes.push_back(node.name);
  }
  auto written = nlohmann::json::array();
  for (const auto& node : nodes) {
    auto dir = std::filesystem::path(bundlesDir) / node;
    auto files = polc::artifacts::writeNodeBundle(outDir, node, dir);
    if (!files) return failSystem("bundle", files.error(), format);
    written.push_back({{"node", node}, {"dir", dir.string()}, {"files", *files}});
    if (format == Format::Text)
      std::cout << "polc: bundle of " << node << ": " << dir.string() << " (" << *files
                << " files)\n";
  }
  if (format == Format::Json) printJson(nlohmann::json{{"ok", true}, {"bundles", written}});
  return kExitOk;
}

struct ExplainOptions {
  std::string from;
  std::string to;
  std::string protocol;
  std::optional<int> port;
  std::optional<int> icmpType;
  std::optional<int> icmpCode;
};

int runExplain(const CompileOptions& options, const ExplainOptions& explain, Format format) {
  namespace ev = polc::evaluator;
  auto fail = [&](int code, const std::string& message, const polc::Diagnostics* diagnostics) {
    if (format == Format::Json) {
      nlohmann::json json{{"ok", false}, {"error", message}};
      if (diagnostics) json["diagnostics"] = diagnostics->toJson();
      printJson(json);
    } else {
      std::cerr << "polc explain: " << message << "\n";
    }
    return code;
  };
  std::string protocolName = explain.protocol;
  for (auto& c : protocolName) c = char(std::tolower(static_cast<unsigned char>(c)));
  uint8_t protocol = polc::protocolFromName(protocolName).value_or(0);
  bool icmp = protocol == IPPROTO_ICMP || protocol == IPPROTO_ICMPV6;
  if (icmp && explain.port) return fail(kExitUsage, "--port is for tcp, udp and sctp", nullptr);
  if (icmp && !explain.icmpType) return fail(kExitUsage, "--icmp-type is required", nullptr);
  if (!icmp && (explain.icmpType || explain.icmpCode))
    return fail(kExitUsage, "--icmp-type and --icmp-code are for icmp and icmpv6", nullptr);
  if (!icmp && !explain.port) return fail(kExitUsage, "--port is required", nullptr);
  auto from = ev::FlowEnd::parse(explain.from);
  if (!from) return fail(kExitUsage, "--from: " + from.error(), nullptr);
  auto to = ev::FlowEnd::parse(explain.to);
  if (!to) return fail(kExitUsage, "--to: " + to.error(), nullptr);

  polc::Diagnostics diagnostics;
  auto compiled = polc::driver::compile({options.policy, options.topology}, diagnostics);
  printDiagnostics(diagnostics, format);
  if (!compiled) return fail(kExitInputError, "the policy has errors", &diagnostics);
  ev::Flow flow;
  flow.from = *from;
  flow.to = *to;
  flow.protocol = protocol;
  flow.port = uint16_t(explain.port.value_or(0));
  if (explain.icmpType) flow.icmpType = uint8_t(*explain.icmpType);
  if (explain.icmpCode) flow.icmpCode = uint8_t(*explain.icmpCode);
  auto verdict = ev::evaluate(compiled->program, flow);
  if (!verdict) return fail(kExitInputError, verdict.error(), &diagnostics);
  if (format == Format::Json) {
    auto json = ev::explainJson(compiled->program, *verdict);
    json["ok"] = true;
    json["diagnostics"] = diagnostics.toJson();
    printJson(json);
  } else {
    std::cout << ev::explainText(compiled->program, *verdict);
  }
  return kExitOk;
}

struct DiffOptions {
  std::string oldPolicy;
  std::string newPolicy;
  std::string topology;
  std::string newTopology; // empty: the same topology
};

// Exit codes follow diff(1), not the table above (see docs/cli.md): 0 no
// change, 1 changes, 2 trouble (either version has errors, or usage).
int runDiff(const DiffOptions& options, Format format) {
  constexpr int kDiffNoChange = 0, kDiffChanges = 1, kDiffTrouble = 2;
  polc::Diagnostics oldDiagnostics, newDiagnostics;
  auto before = polc::driver::compile({options.oldPolicy, options.topology}, oldDiagnostics);
  auto after = polc::driver::compile(
      {options.newPolicy, options.newTopology.empty() ? options.topology : options.newTopology},
      newDiagnostics);
  printDiagnostics(oldDiagnostics, format);
  printDiagnostics(newDiagnostics, format);
  if (!before || !after) {
    if (format == Format::Json)
      printJson(nlohmann::json{
          {"ok", false},
          {"error", "the policy has errors"},
          {"diagnostics", {{"old", oldDiagnostics.toJson()}, {"new", newDiagnostics.toJson()}}}});
    else
      std::cerr << "polc diff: " << (before ? "the new" : "the old")
                << " version has errors: nothing compared\n";
    return kDiffTrouble;
  }
  auto diff = polc::evaluator::diffPolicies(before->program, after->program);
  if (format == Format::Json) {
    auto json = polc::evaluator::diffJson(before->program, after->program, diff);
    json["ok"] = true;
    json["diagnostics"] = {{"old", oldDiagnostics.toJson()}, {"new", newDiagnostics.toJson()}};
    printJson(json);
  } else {
    std::cout << polc::evaluator::diffText(before->program, after->program, diff);
  }
  return diff.empty() ? kDiffNoChange : kDiffChanges;
}

int runTest(const std::vector<std::string>& files) {
  polc::Diagnostics diagnostics;
  auto compile = [](const std::string& policy, const std::string& topology,
                    polc::Diagnostics& diagnostics) -> std::optional<polc::ir::Program> {
    auto compiled = polc::driver::compile({policy, topology}, diagnostics);
    if (!compiled) return std::nullopt;
    return std::move(compiled->program);
  };
  auto report = polc::evaluator::runTestFiles(files, compile, diagnostics);
  printDiagnostics(diagnostics, Format::Text);
  std::cout << polc::evaluator::renderReport(report);
  return report.failed() == 0 ? kExitOk : kExitInputError;
}

// Rewrites each file in the canonical layout, or with `check` only reports
// (with a diff) the files whose layout would change.
int runFmt(const std::vector<std::string>& files, bool check) {
  int status = kExitOk;
  bool wouldChange = false;
  for (const auto& path : files) {
    auto text = polc::readFile(path);
    if (!text) {
      std::cerr << "polc fmt: " << text.error() << "\n"; // it names the file
      status = kExitInputError;
      continue;
    }
    polc::Diagnostics diagnostics;
    auto formatted = polc::frontend::formatText(path, *text, diagnostics);
    printDiagnostics(diagnostics, Format::Text);
    if (!formatted) {
      status = kExitInputError;
      continue;
    }
    if (*formatted == *text) continue;
    if (check) {
      std::cout << path << ": would be reformatted\n"
                << polc::frontend::unifiedDiff(path, *text, *formatted);
      wouldChange = true;
      status = kExitInputError;
      continue;
    }
    if (auto written = polc::writeFile(path, *formatted); !written) {
      std::cerr << "polc fmt: " << path << ": " << written.error() << "\n";
      status = kExitInputError;
      continue;
    }
    std::cout << "polc fmt: reformatted " << path << "\n";
  }
  if (wouldChange) std::cout << "run `polc fmt FILE...` to rewrite them in the canonical layout\n";
  return status;
}

struct PlacementOptions {
  polc::loader::Placement placement;
  std::string labPrefix;
  double lockTimeoutSeconds =
      std::chrono::duration<double>(polc::loader::kDefaultLockTimeout).count();

  std::chrono::milliseconds lockTimeout() const {
    return std::chrono::milliseconds(static_cast<long long>(lockTimeoutSeconds * 1000));
  }
};

void addLockTimeoutOption(CLI::App* command, PlacementOptions& options) {
  command
      ->add_option("--lock-timeout", options.lockTimeoutSeconds,
                   "Seconds to wait for another load or unload of the same state dir")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
}

void addPlacementOptions(CLI::App* command, PlacementOptions& options, bool withNetns) {
  command->add_option("--pin-root", options.placement.pinRoot, "bpffs directory for pinned maps")
      ->capture_default_str();
  command
      ->add_option("--state-dir", options.placement.stateDir, "Where polc records what it attached")
      ->capture_default_str();
  if (!withNetns) return;
  auto* netns =
      command->add_option("--netns", options.placement.netns,
                          "Network namespace holding the node's interfaces (default: this one)");
  command
      ->add_option("--lab", options.labPrefix,
                   "Load into the node namespace of the `polc lab` with this prefix")
      ->excludes(netns);
}

int runLoad(const std::string& outDir, const std::string& node, PlacementOptions options,
            Format format) {
  if (!options.labPrefix.empty()) {
    auto manifest = polc::artifacts::readManifest(outDir);
    if (!manifest) return failSystem("load", manifest.error(), format);
    std::string nodeName = node;
    if (nodeName.empty() && manifest->nodes.size() == 1) nodeName = manifest->nodes[0].name;
    options.placement.netns = polc::lab::nodeNamespace(options.labPrefix, nodeName);
  }
  auto loader = polc::loader::makeKernelLoader();
  auto report = loader->load({outDir, node, options.placement, options.lockTimeout()});
  if (!report) return failSystem("load", report.error(), format);
  if (format == Format::Json)
    std::cout << polc::loader::loadReportJson(*report) << "\n";
  else
    std::cout << polc::loader::loadReportText(*report);
  return kExitOk;
}

int runUnload(const std::string& node, const PlacementOptions& options, bool force, bool netnsGiven,
              Format format) {
  auto loader = polc::loader::makeKernelLoader();
  polc::loader::UnloadRequest request{node, options.placement, options.lockTimeout()};
  request.force = force;
  request.netnsGiven = netnsGiven;
  request.labPrefix = options.labPrefix;
  auto report = loader->unload(request);
  if (!report) return failSystem("unload", report.error(), format);
  if (format == Format::Json) {
    printJson(nlohmann::json{{"ok", true},
                             {"detached", report->detached.size()},
                             {"pins_removed", report->pinsRemoved}});
  } else {
    std::cout << "polc: unloaded: " << report->detached.size() << " program(s) detached, "
              << report->pinsRemoved << " pin(s) removed\n";
  }
  return kExitOk;
}

nlohmann::json mapFillJson(const polc::loader::MapFill& fill) {
  nlohmann::json j{{"map", fill.map},
                   {"pin", fill.pin},
                   {"pinned", fill.pinned},
                   {"entries", fill.entries},
                   {"capacity", fill.capacity}};
  if (fill.loadedEntries) j["loaded_entries"] = *fill.loadedEntries;
  return j;
}

std::string mapFillText(const polc::loader::MapFill& fill) {
  if (!fill.pinned) return fill.map + " (pin missing)";
  std::string text =
      fill.map + " " + std::to_string(fill.entries) + "/" + std::to_string(fill.capacity);
  if (fill.loadedEntries && *fill.loadedEntries != fill.entries)
    text += " (loaded " + std::to_string(*fill.loadedEntries) + ")";
  return text;
}

nlohmann::json foundFilterJson(const polc::loader::FoundFilter& filter) {
  return {{"interface", filter.interface},
          {"hook", filter.hook},
          {"program_id", filter.programId},
          {"program_name", filter.programName}};
}

// The command that removes what status found for a node whose state cannot
// be read, with the placement status was given.
std::string forceUnloadCommand(const polc::loader::NodeStatus& n,
                               const polc::loader::StatusRequest& request) {
  std::string command = "polc unload --force --node " + n.node + " --pin-root " + n.pinRoot +
                        " --state-dir " + request.stateDir.string();
  if (!n.netns.empty()) command += " --netns " + n.netns;
  return command;
}

// Exit 0 when what is attached is what polc recorded, 1 on drift, 3 when a
// node's state cannot be read (what the kernel shows is printed all the same).
int runStatus(const std::string& node, const PlacementOptions& options, bool pinRootGiven,
              bool netnsGiven, Format format) {
  polc::loader::StatusRequest request;
  request.node = node;
  request.stateDir = options.placement.stateDir;
  if (pinRootGiven) request.pinRoot = options.placement.pinRoot;
  if (netnsGiven) request.netns = options.placement.netns;
  if (!options.labPrefix.empty() && !node.empty())
    request.netns = polc::lab::nodeNamespace(options.labPrefix, node);
  request.fallbackPinRoot = options.placement.pinRoot;
  request.labPrefix = options.labPrefix;
  auto loader = polc::loader::makeKernelLoader();
  auto report = loader->status(request);
  if (!report) return failSystem("status", report.error(), format);
  if (!options.labPrefix.empty() && node.empty())
    std::erase_if(report->nodes, [&](const auto& n) {
      return n.stateError.empty() && n.netns != polc::lab::nodeNamespace(options.labPrefix, n.node);
    });
  const bool unreadable = report->stateUnreadable();
  int exitCode = unreadable ? kExitSystem : report->inSync() ? kExitOk : kExitInputError;

  if (format == Format::Json) {
    auto nodes = nlohmann::json::array();
    for (const auto& n : report->nodes) {
      auto endpoints = nlohmann::json::array();
      for (const auto& e : n.endpoints) {
        auto programs = nlohmann::json::array();
        for (const auto& p : e.programs) {
          nlohmann::json program{{"hook", p.hook},
                                 {"program", p.program},
                                 {"recorded_id", p.recordedId},
                                 {"attached_id", nullptr},
                                 {"attached_name", p.attachedName},
                                 {"pinned_id", nullptr}};
          if (p.attachedId) program["attached_id"] = *p.attachedId;
          if (p.pinnedId) program["pinned_id"] = *p.pinnedId;
          programs.push_back(program);
        }
        auto maps = nlohmann::json::array();
        for (const auto& m : e.maps) maps.push_back(mapFillJson(m));
        endpoints.push_back({{"endpoint", e.endpoint},
                             {"interface", e.interface},
                             {"ifindex", e.ifindex},
                             {"programs", programs},
                             {"maps", maps}});
      }
      auto maps = nlohmann::json::array();
      for (const auto& m : n.maps) maps.push_back(mapFillJson(m));
      auto unrecorded = nlohmann::json::array();
      for (const auto& f : n.unrecordedFilters) unrecorded.push_back(foundFilterJson(f));
      nlohmann::json entry{
          {"node", n.node},         {"netns", n.netns},
          {"pin_root", n.pinRoot},  {"revision", n.revision},
          {"out_dir", n.outDir},    {"in_sync", n.drift.empty() && n.stateError.empty()},
          {"drift", n.drift},       {"maps", maps},
          {"endpoints", endpoints}, {"unrecorded_filters", unrecorded}};
      if (!n.stateError.empty()) {
        entry["state_error"] = n.stateError;
        entry["found_pins"] = n.foundPins;
        entry["recover"] = forceUnloadCommand(n, request);
      }
      nodes.push_back(std::move(entry));
    }
    nlohmann::json out{{"ok", !unreadable}, {"in_sync", report->inSync()}, {"nodes", nodes}};
    if (unreadable) out["error"] = "the loader state of a node cannot be read";
    printJson(out);
    return exitCode;
  }

  if (report->nodes.empty()) {
    std::cout << "polc status: nothing loaded"
              << (node.empty() ? std::string() : " for node " + node) << " (state dir "
              << request.stateDir.string() << ")\n";
    return kExitOk;
  }
  for (const auto& n : report->nodes) {
    if (!n.stateError.empty()) {
      std::cout << "node " << n.node << ": STATE UNREADABLE\n"
                << "  netns " << (n.netns.empty() ? "(this one)" : n.netns) << "  pins "
                << n.pinRoot << "\n";
      for (const auto& d : n.drift) std::cout << "  " << d << "\n";
      std::cout << "  to remove it all: " << forceUnloadCommand(n, request) << "\n";
      continue;
    }
    std::cout << "node " << n.node << (n.drift.empty() ? ": in sync" : ": DRIFT") << "\n"
              << "  revision " << (n.revision.empty() ? "(not recorded)" : n.revision.substr(0, 16))
              << (n.outDir.empty() ? "" : "  from " + n.outDir) << "\n"
              << "  netns " << (n.netns.empty() ? "(this one)" : n.netns) << "  pins " << n.pinRoot
              << "\n";
    if (!n.maps.empty()) {
      std::cout << "  maps:";
      for (const auto& m : n.maps) std::cout << "  " << mapFillText(m);
      std::cout << "\n";
    }
    for (const auto& e : n.endpoints) {
      std::cout << "  " << e.endpoint << " on " << e.interface << "\n";
      for (const auto& p : e.programs) {
        std::cout << "    " << p.hook << "  " << p.program << " id " << p.recordedId;
        if (!p.attachedId)
          std::cout << "  [filter missing]";
        else if (*p.attachedId != p.recordedId)
          std::cout << "  [replaced by id " << *p.attachedId << " " << p.attachedName << "]";
        if (!p.pinnedId) std::cout << "  [pin missing]";
        std::cout << "\n";
      }
      if (!e.maps.empty()) {
        std::cout << "    maps:";
        for (const auto& m : e.maps) std::cout << "  " << mapFillText(m);
        std::cout << "\n";
      }
    }
    for (const auto& d : n.drift) std::cout << "  drift: " << d << "\n";
  }
  return exitCode;
}

int runLabUp(const std::string& topologyFile, const std::string& prefix) {
  polc::Diagnostics diagnostics;
  auto topology = polc::topology::loadFile(topologyFile, diagnostics);
  printDiagnostics(diagnostics, Format::Text);
  if (!topology) return kExitInputError;
  auto report = polc::lab::up(*topology, {prefix});
  if (!report) return failSystem("lab up", report.error(), Format::Text);
  std::cout << "polc: lab up: " << report->namespaces.size() << " network namespace(s)\n";
  for (const auto& node : topology->nodes) {
    std::cout << "  node " << node.name << ": ip netns exec "
              << polc::lab::nodeNamespace(prefix, node.name) << " ...\n";
    for (const auto& endpoint : node.endpoints)
      std::cout << "    " << endpoint.name << ": ip netns exec "
                << polc::lab::endpointNamespace(prefix, endpoint.name) << " ...  ("
                << endpoint.addresses[0].addressText() << ", host side "
                << endpoint.interface << ")\n";
  }
  std::cout << "load a build into it with: polc load OUT --lab " << prefix << "\n";
  return kExitOk;
}

int runLabDown(const std::string& prefix) {
  auto report = polc::lab::down({prefix});
  if (!report) return failSystem("lab down", report.error(), Format::Text);
  std::cout << "polc: lab down: removed " << report->namespaces.size() << " network namespace(s)\n";
  return kExitOk;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "polc: compiles label-based network policy into BPF programs and tables, and loads them"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("polc ") + POLC_VERSION);
  Format format = Format::Text;

  CompileOptions compileOptions;
  auto* check = app.add_subcommand(
      "check", "Parse and analyze a policy against a topology; print diagnostics");
  addCompileOptions(check, compileOptions);
  addFormatOption(check, format);
  std::string dumpAfter;
  addPassOptions(check, dumpAfter);

  std::string outDir = "out";
  bool quiet = false;
  auto* build =
      app.add_subcommand("build", "Compile a policy for a topology into an output directory");
  addCompileOptions(build, compileOptions);
  addPassOptions(build, dumpAfter);
  build->add_option("-o,--out", outDir, "Output directory (replaced as a whole)")
      ->capture_default_str();
  build->add_option("--format", format, "Report format: text or json")
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, Format>{{"text", Format::Text}, {"json", Format::Json}},
          CLI::ignore_case));
  build->add_flag("-q,--quiet", quiet, "Print only the one-line summary");
  unsigned jobs = 0;
  build
      ->add_option("-j,--jobs", jobs,
                   "clang processes, and threads writing tables, at a time (default: one per core)")
      ->check(CLI::PositiveNumber);
  std::string cacheDir;
  bool noCache = false;
  build->add_option("--cache-dir", cacheDir,
                    "Compile cache directory (default: $XDG_CACHE_HOME/polc or ~/.cache/polc)");
  build->add_flag("--no-cache", noCache, "Neither read nor fill the compile cache");
  unsigned maxInlineEntries = polc::codegen::kMaxInlineEntries;
  build
      ->add_option("--inline-max", maxInlineEntries,
                   "Compile tables of at most N entries into the program as code instead of a "
                   "map lookup (faster per packet; a change to such a table reloads the program "
                   "instead of updating its map in place); 0: never")
      ->capture_default_str();
  bool stats = false;
  build->add_flag("--stats", stats,
                  "Also print table sizes (entries, capacity and fill per endpoint and direction, "
                  "ipcache per node) and, per program, the instructions the kernel's verifier "
                  "processed against its limit (n/a without root)");

  std::string bundleFrom;
  std::string bundlesDir = "bundles";
  std::vector<std::string> bundleNodes;
  auto* bundle = app.add_subcommand(
      "bundle", "Split a build output into one self-contained bundle per node (DIR/<node>/), "
                "each loadable alone with `polc load`");
  bundle->add_option("out", bundleFrom, "Build output directory")
      ->required()
      ->check(CLI::ExistingDirectory);
  bundle->add_option("-o,--out-dir", bundlesDir, "Where to write the bundles")
      ->capture_default_str();
  bundle->add_option("--node", bundleNodes, "Only these nodes (default: every node)");
  bundle->add_option("--format", format, "Report format: text or json")
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, Format>{{"text", Format::Text}, {"json", Format::Json}},
          CLI::ignore_case));

  ExplainOptions explainOptions;
  auto* explain = app.add_subcommand(
      "explain", "Say whether a policy allows a flow, and which rules decided it");
  addCompileOptions(explain, compileOptions);
  explain
      ->add_option("--from", explainOptions.from,
                   "Source: an endpoint name, an IP address, 'entity world' or 'entity host'")
      ->required();
  explain->add_option("--to", explainOptions.to, "Destination: as --from")->required();
  explain->add_option("--proto", explainOptions.protocol, "tcp, udp, sctp, icmp or icmpv6")
      ->required()
      ->check(CLI::IsMember({"tcp", "udp", "sctp", "icmp", "icmpv6"}, CLI::ignore_case));
  explain->add_option("--port", explainOptions.port, "Destination port (tcp, udp, sctp)")
      ->check(CLI::Range(1, 65535));
  explain->add_option("--icmp-type", explainOptions.icmpType, "ICMP type (icmp, icmpv6)")
      ->check(CLI::Range(0, 255));
  explain->add_option("--icmp-code", explainOptions.icmpCode, "ICMP code (default 0)")
      ->check(CLI::Range(0, 255));
  addFormatOption(explain, format);

  DiffOptions diffOptions;
  auto* diff = app.add_subcommand(
      "diff", "List the flows whose verdict differs between two versions of a policy; exit 0 "
              "when none, 1 when some, 2 on errors (as diff(1))");
  diff->add_option("old", diffOptions.oldPolicy, "The old policy (.pol)")
      ->required()
      ->check(CLI::ExistingFile);
  diff->add_option("new", diffOptions.newPolicy, "The new policy (.pol)")
      ->required()
      ->check(CLI::ExistingFile);
  diff->add_option("-t,--topology", diffOptions.topology, "Topology file (YAML)")
      ->required()
      ->check(CLI::ExistingFile);
  diff->add_option("--new-topology", diffOptions.newTopology,
                   "Topology of the new version (default: --topology)")
      ->check(CLI::ExistingFile);
  addFormatOption(diff, format);

  std::vector<std::string> testFiles;
  auto* test = app.add_subcommand(
      "test", "Run policy test files (expect allow|deny from A to B on P); exit 1 on a failure");
  test->add_option("files", testFiles, "Test files (.poltest)")
      ->required()
      ->check(CLI::ExistingFile);
  std::vector<std::string> fmtFiles;
  bool fmtCheck = false;
  auto* fmt = app.add_subcommand("fmt", "Rewrite policy files in the canonical layout");
  fmt->add_option("files", fmtFiles, "Policy files (.pol)")->required()->check(CLI::ExistingFile);
  fmt->add_flag("--check", fmtCheck,
                "Change nothing; list the files that would change, exit 1 if any would");

  std::string loadDir;
  std::string node;
  PlacementOptions placement;
  auto* load =
      app.add_subcommand("load", "Attach a node's programs from a build output and fill its maps");
  load->add_option("out", loadDir, "Build output directory")
      ->required()
      ->check(CLI::ExistingDirectory);
  load->add_option("--node", node, "Node to load (default: the only node)");
  addPlacementOptions(load, placement, true);
  addLockTimeoutOption(load, placement);
  addFormatOption(load, format);

  auto* unload = app.add_subcommand("unload", "Detach and remove everything polc loaded");
  unload->add_option("--node", node, "Only this node (default: all)");
  bool force = false;
  unload->add_flag("--force", force,
                   "Also when a node's state cannot be read: remove polc's filters (its handle and "
                   "priority) and the node's pins without it, then the broken state (docs/cli.md)");
  addPlacementOptions(unload, placement, true);
  addLockTimeoutOption(unload, placement);
  addFormatOption(unload, format);

  auto* status = app.add_subcommand(
      "status", "Show what polc attached, from which build, table fill, and any drift");
  status->add_option("--node", node, "Only this node (default: all)");
  addPlacementOptions(status, placement, true);
  addFormatOption(status, format);

  auto* lab = app.add_subcommand(
      "lab", "Build a topology out of network namespaces to try policies with traffic");
  lab->require_subcommand(1);
  std::string labTopology;
  std::string labPrefix = "polc";
  auto* labUp =
      lab->add_subcommand("up", "Create a namespace per node and per endpoint, joined by veths");
  labUp->add_option("topology", labTopology, "Topology file (YAML)")
      ->required()
      ->check(CLI::ExistingFile);
  labUp->add_option("--prefix", labPrefix, "Name prefix of everything the lab creates")
      ->capture_default_str();
  auto* labDown = lab->add_subcommand("down", "Remove every namespace of the lab with this prefix");
  labDown->add_option("--prefix", labPrefix, "Name prefix used by `lab up`")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }

  auto run = [&]() -> int {
    if (!dumpAfter.empty() && (*check || *build)) return runDump(compileOptions, dumpAfter);
    if (*check) return runCheck(compileOptions, format);
    if (*build) {
      polc::driver::BuildOptions buildOptions;
      buildOptions.jobs = jobs;
      buildOptions.maxInlineEntries = maxInlineEntries;
      if (!noCache)
        buildOptions.cacheDir =
            cacheDir.empty() ? polc::driver::defaultCacheDir() : std::filesystem::path(cacheDir);
      // Progress only for a person watching: never into a log or a pipe.
      buildOptions.progress = ::isatty(STDERR_FILENO) == 1;
      return runBuild(compileOptions, outDir, buildOptions, format, quiet, stats);
    }
    if (*bundle) return runBundle(bundleFrom, bundleNodes, bundlesDir, format);
    if (*explain) return runExplain(compileOptions, explainOptions, format);
    if (*diff) return runDiff(diffOptions, format);
    if (*test) return runTest(testFiles);
    if (*fmt) return runFmt(fmtFiles, fmtCheck);
    if (*load) return runLoad(loadDir, node, placement, format);
    if (*unload) return runUnload(node, placement, force, unload->count("--netns") > 0, format);
    if (*status)
      return runStatus(node, placement, status->count("--pin-root") > 0,
                       status->count("--netns") > 0, format);
    if (*labUp) return runLabUp(labTopology, labPrefix);
    if (*labDown) return runLabDown(labPrefix);
    return kExitUsage;
  };
  // Errors are values, so an exception here is a bug; it still ends the
  // command with a message and exit 3 rather than std::terminate, and after
  // unwinding, so that RAII guards (a build's staging directory) clean up.
  const std::string command = app.get_subcommands().front()->get_name();
  try {
    return run();
  } catch (const std::exception& e) {
    return failSystem(command, std::string("internal error: ") + e.what(), format);
  } catch (...) {
    return failSystem(command, "internal error: an unknown exception", format);
  }
}
