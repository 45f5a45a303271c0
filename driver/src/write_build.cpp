#include "polc/driver/pipeline.h"

#include "object_builder.h"

#include "polc/artifacts/digest.h"
#include "polc/artifacts/manifest.h"
#include "polc/codegen/endpoint_program.h"
#include "polc/codegen/program_plan.h"
#include "polc/passes/tables.h"
#include "polc/services/service_table.h"
#include "polc/support/unique_fd.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstring>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <utility>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace polc::driver {

namespace fs = std::filesystem;
using artifacts::dumpJson;

namespace {

// The build's temporaries beside the output, named by its pid:
// .polc-staging-<out>-<pid> while it writes, .polc-previous-<out>-<pid> while
// it swaps the new output in. A build that is killed leaves them behind.
std::string temporaryPrefix(const char* kind, const fs::path& outDir) {
  return std::string(".polc-") + kind + "-" + outDir.filename().string() + "-";
}

fs::path temporaryPath(const char* kind, const fs::path& outDir) {
  return outDir.parent_path() / (temporaryPrefix(kind, outDir) + std::to_string(::getpid()));
}

// The directory, opened and locked (flock, exclusive), or an invalid
// descriptor when another process holds its lock or it cannot be opened.
UniqueFd lockDirectory(const fs::path& path) {
  UniqueFd directory(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (directory.get() < 0 || ::flock(directory.get(), LOCK_EX | LOCK_NB) != 0) return UniqueFd();
  return directory;
}

bool processExists(pid_t pid) {
  return ::kill(pid, 0) == 0 || errno == EPERM; // EPERM: it exists, another user's
}

// Removes what killed builds of outDir left beside it: a temporary whose
// pid is no running process (a pid reused since keeps it, which is safe),
// and for a staging directory, whose lock nobody holds either (a build in
// another pid namespace sharing the directory holds its lock while it runs).
// Only outDir's own temporaries, and only those named exactly so.
void removeStaleTemporaries(const fs::path& outDir) {
  std::error_code ec;
  for (fs::directory_iterator it(outDir.parent_path(), ec), end; !ec && it != end;
       it.increment(ec)) {
    const auto name = it->path().filename().string();
    for (const char* kind : {"staging", "previous"}) {
      const auto prefix = temporaryPrefix(kind, outDir);
      if (!name.starts_with(prefix)) continue;
      std::string_view digits(name);
      digits.remove_prefix(prefix.size());
      pid_t pid = 0;
      auto parsed = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
      if (digits.empty() || parsed.ec != std::errc() ||
          parsed.ptr != digits.data() + digits.size() || pid <= 0 || pid == ::getpid() ||
          processExists(pid))
        continue;
      std::error_code typeError;
      if (!it->is_directory(typeError) || it->is_symlink(typeError)) continue;
      UniqueFd lock;
      if (std::string_view(kind) == "staging") {
        lock = lockDirectory(it->path());
        if (lock.get() < 0) continue;
      }
      std::error_code ignored;
      fs::remove_all(it->path(), ignored);
    }
  }
}

// A staging directory beside the output, removed unless committed, and
// locked while this build runs (see removeStaleTemporaries).
class StagingDirectory {
public:
  explicit StagingDirectory(const fs::path& outDir)
      : outDir_(outDir), path_(temporaryPath("staging", outDir)) {}
  ~StagingDirectory() {
    std::error_code ignored;
    if (!committed_) fs::remove_all(path_, ignored);
  }
  StagingDirectory(const StagingDirectory&) = delete;
  StagingDirectory& operator=(const StagingDirectory&) = delete;

  Status create() {
    removeStaleTemporaries(outDir_);
    std::error_code ec;
    fs::remove_all(path_, ec);
    fs::create_directories(path_, ec);
    if (ec) return Error{"cannot create " + path_.string() + ": " + ec.message()};
    lock_ = lockDirectory(path_);
    if (lock_.get() < 0)
      return Error{"cannot lock " + path_.string() + ": " + std::strerror(errno)};
    return okStatus();
  }

  // Replaces outDir by the staging directory.
  Status commit(const fs::path& outDir) {
    std::error_code ec;
    fs::path previous;
    if (fs::exists(outDir)) {
      bool isBuild = fs::exists(outDir / "manifest.json");
      bool isEmpty = fs::is_directory(outDir) && fs::is_empty(outDir);
      if (!isBuild && !isEmpty)
        return Error{outDir.string() +
                     " exists and is not a polc build output (no manifest.json); not replacing it"};
      previous = temporaryPath("previous", outDir);
      fs::remove_all(previous, ec);
      fs::rename(outDir, previous, ec);
      if (ec)
        return Error{"cannot move the previous " + outDir.string() + " aside: " + ec.message()};
    }
    fs::rename(path_, outDir, ec);
    if (ec) {
      std::error_code ignored;
      if (!previous.empty()) fs::rename(previous, outDir, ignored);
      return Error{"cannot move the new build into " + outDir.string() + ": " + ec.message()};
    }
    committed_ = true;
    if (!previous.empty()) fs::remove_all(previous, ec);
    return okStatus();
  }

  const fs::path& path() const { return path_; }

private:
  fs::path outDir_;
  fs::path path_;
  UniqueFd lock_; // held until the build ends, committed or not
  bool committed_ = false;
};

// Writes files below the staging directory, remembering their digests.
// A file whose bytes equal the previous build's is hard-linked from it
// instead: an incremental build then creates (and the swap then frees)
// inodes only for what changed, which is most of its cost on a big cluster.
// Threads may write different files at once (the policy tables).
class OutputWriter {
public:
  OutputWriter(fs::path root, fs::path previous)
      : root_(std::move(root)), previous_(std::move(previous)) {}

  Status write(const std::string& relative, const std::string& contents) {
    auto digest = artifacts::sha256Hex(contents);
    Status status = okStatus();
    // Unsynced: the loader checks every file against the manifest's digests.
    if (!linkUnchanged(relative, contents))
      status = polc::writeFile(root_ / relative, contents, polc::FileSync::Unsynced);
    if (status) {
      std::lock_guard lock(digestsMutex_);
      digests_[relative] = std::move(digest);
    }
    return status;
  }

  // Stores a compiled object as objects/<sha256>.o; identical objects share one file.
  Expected<std::string> addObject(const std::string& contents) {
    return addByContent("objects/", ".o", contents);
  }

  // Stores `contents` as <directory><sha256><extension>, once however many
  // callers (on any thread) add the same bytes.
  Expected<std::string> addByContent(const std::string& directory, const char* extension,
                                     const std::string& contents) {
    std::string relative = directory + artifacts::sha256Hex(contents) + extension;
    if (std::lock_guard lock(digestsMutex_); !claimed_.insert(relative).second) return relative;
    if (auto status = write(relative, contents); !status) return Error{status.error()};
    return relative;
  }

  const std::map<std::string, std::string>& digests() const { return digests_; }
  const fs::path& root() const { return root_; }

private:
  bool linkUnchanged(const std::string& relative, const std::string& contents) const {
    // Only a regular file: never carry a symlink over from a previous output.
    if (previous_.empty() || !fs::is_regular_file(fs::symlink_status(previous_ / relative)))
      return false;
    auto old = polc::readFile(previous_ / relative);
    if (!old || *old != contents) return false;
    std::error_code ec;
    fs::create_directories((root_ / relative).parent_path(), ec);
    if (!ec) fs::create_hard_link(previous_ / relative, root_ / relative, ec);
    return !ec;
  }

  fs::path root_;
  fs::path previous_; // the output being replaced, if any
  std::mutex digestsMutex_;
  std::map<std::string, std::string> digests_;
  std::set<std::string> claimed_; // by addByContent, written or being written
};

// Where each endpoint's tables went: [node][endpoint][direction].
using TablePaths = std::vector<std::vector<std::array<std::string, 2>>>;

// The table as written: each entry's rule by its stable id.
artifacts::PolicyTable withStableRuleIds(const artifacts::PolicyTable& table,
                                         const std::vector<uint32_t>& ruleIds) {
  artifacts::PolicyTable written = table;
  for (auto& entry : written.entries) entry.ruleId = ruleIds.at(entry.ruleId);
  return written;
}

// Writes each distinct policy table once as tables/<sha256>.json (endpoints
// with the same policy share one, already in memory: passes/tables.h),
// spread over `threads` threads: serializing, hashing and comparing with the
// previous build thousands of tables was a third of an incremental build of
// 1,000 endpoints. Returns the first error in table order.
Expected<TablePaths> writePolicyTables(OutputWriter& out,
                                       const std::vector<passes::NodeTables>& nodes,
                                       const std::vector<uint32_t>& ruleIds, unsigned threads) {
  std::vector<const artifacts::PolicyTable*> distinct;
  std::unordered_map<const artifacts::PolicyTable*, size_t> indexOf;
  for (const auto& node : nodes)
    for (const auto& endpoint : node.endpoints)
      for (const auto* table : {endpoint.ingress.get(), endpoint.egress.get()})
        if (indexOf.emplace(table, distinct.size()).second) distinct.push_back(table);
  std::vector<Expected<std::string>> written(distinct.size(), std::string());
  std::atomic<size_t> next = 0;
  auto work = [&] {
    for (size_t i = next++; i < distinct.size(); i = next++)
      written[i] = out.addByContent(
          "tables/", ".json", artifacts::toJsonText(withStableRuleIds(*distinct[i], ruleIds)));
  };
  std::vector<std::future<void>> helpers;
  for (size_t t = 1; t < std::min<size_t>(threads, distinct.size()); ++t)
    helpers.push_back(std::async(std::launch::async, work));
  work();
  for (auto& helper : helpers) helper.get();
  for (const auto& path : written)
    if (!path) return Error{path.error()};
  TablePaths paths(nodes.size());
  for (size_t node = 0; node < nodes.size(); ++node)
    for (const auto& endpoint : nodes[node].endpoints)
      paths[node].push_back({*written[indexOf.at(endpoint.ingress.get())],
                             *written[indexOf.at(endpoint.egress.get())]});
  return paths;
}

// Every rule once, in source order, with the stable id the tables' entries
// point to.
artifacts::RuleList ruleList(const ir::Program& program, const std::vector<uint32_t>& ruleIds) {
  artifacts::RuleList list;
  for (const auto& rule : program.rules)
    list.rules.push_back(
        {ruleIds.at(rule.id), rule.policy, rule.text, rule.location.str(), rule.audit});
  return list; // in source order, as a reader looks them up
}

nlohmann::json identitiesJson(const ir::Program& program) {
  auto list = nlohmann::json::array();
  for (const auto& identity : program.identities) {
    switch (identity.kind) {
    case ir::Identity::Kind::Reserved:
      list.push_back({{"id", identity.id}, {"reserved", identity.name}});
      break;
    case ir::Identity::Kind::Endpoint:
      list.push_back({{"id", identity.id}, {"labels", identity.labels}});
      break;
    case ir::Identity::Kind::Cidr:
      list.push_back({{"id", identity.id}, {"cidr", identity.prefix->text()}});
      break;
    case ir::Identity::Kind::ServiceAddress:
      list.push_back({{"id", identity.id},
                      {"service", identity.name},
                      {"address", identity.prefix->addressText()}});
      break;
    }
  }
  return {{"identities", list}};
}

Expected<BuildReport> writeBuildOrThrow(const Compiled& compiled, const fs::path& requestedOutDir,
                                        const BuildOptions& options) {
  const auto& program = compiled.program;
  auto outDir = fs::absolute(requestedOutDir).lexically_normal();
  if (outDir.filename().empty()) outDir = outDir.parent_path();
  StagingDirectory staging(outDir);
  if (auto status = staging.create(); !status) return Error{status.error()};
  OutputWriter out(staging.path(), fs::exists(outDir / "manifest.json") ? outDir : fs::path());
  BuildReport report;
  report.outDir = outDir;
  auto stepStarted = std::chrono::steady_clock::now();
  auto stepDone = [&](const char* step) {
    const auto now = std::chrono::steady_clock::now();
    report.times.push_back({step, now - stepStarted});
    stepStarted = now;
  };

  std::vector<std::string> includeDirs;
  for (const auto& [path, contents] : codegen::bpfLibraryFiles()) {
    if (auto status = out.write(path, contents); !status) return Error{status.error()};
  }
  includeDirs.push_back("bpf/lib");
  if (auto status = out.write("identities.json", dumpJson(identitiesJson(program))); !status)
    return Error{status.error()};
  // Tables and rules.json name rules by their stable ids; the passes
  // before them by their position (ir::Rule::id).
  std::vector<uint32_t> ruleIds;
  for (const auto& rule : program.rules) ruleIds.push_back(rule.stableId);
  if (auto status = out.write("rules.json", artifacts::toJsonText(ruleList(program, ruleIds)));
      !status)
    return Error{status.error()};

  stepDone("prepare"); // the staging directory, the bpf/lib headers, identities, rules
  // Codegen decides the programs; the build writes each distinct one's C
  // under its digest (the manifest and the loader go by it).
  const codegen::ProgramPlan plan =
      codegen::planPrograms(compiled.tables, {.maxInlineEntries = options.maxInlineEntries,
                                              .services = compiled.topology.hasFrontends()});
  stepDone("plan-programs");
  std::vector<ObjectSource> sources;
  for (const auto& planned : plan.programs) {
    std::string path = "sources/" + artifacts::sha256Hex(planned.source) + ".c";
    if (auto status = out.write(path, planned.source); !status) return Error{status.error()};
    sources.push_back({std::move(path), planned.source});
  }
  // The manifest's endpoints that run a program, which gets its object
  // path once compiled.
  struct ProgramUse {
    size_t node, endpoint, program;
  };
  std::vector<ProgramUse> withPrograms;

  artifacts::Manifest manifest;
  manifest.polcVersion = POLC_VERSION;
  manifest.cluster = program.cluster;
  for (const auto& input : compiled.inputFiles) {
    auto digest = artifacts::sha256OfFile(input);
    if (!digest) return Error{"input " + input + ": " + digest.error()};
    manifest.inputs[input] = *digest;
  }
  if (compiled.topology.hasFrontends()) {
    manifest.services = "services.json";
    auto services = services::toJsonText(compiled.services);
    if (auto status = out.write(manifest.services, services); !status) return Error{status.error()};
  }
  const unsigned threads =
      options.jobs != 0 ? options.jobs : std::max(1u, std::thread::hardware_concurrency());
  // program.nodes, compiled.tables and plan.nodes are all sorted by node
  // name, and each node's endpoints by name.
  auto tablePaths = writePolicyTables(out, compiled.tables, ruleIds, threads);
  if (!tablePaths) return Error{tablePaths.error()};
  for (size_t nodeIndex = 0; nodeIndex < program.nodes.size(); ++nodeIndex) {
    const auto& node = program.nodes[nodeIndex];
    const auto& tables = compiled.tables.at(nodeIndex);
    const auto& plannedNode = plan.nodes.at(nodeIndex);
    artifacts::NodeArtifacts nodeArtifacts;
    nodeArtifacts.name = node.name;
    nodeArtifacts.address = node.address ? node.address->addressText() : "";
    const std::string nodeDir = "nodes/" + node.name;
    // compile() already refused tables and ipcaches that overflow their maps.
    const auto& ipcache = tables.ipcache;
    nodeArtifacts.ipcache = nodeDir + "/ipcache.json";
    if (auto status = out.write(nodeArtifacts.ipcache, artifacts::toJsonText(ipcache)); !status)
      return Error{status.error()};
    report.ipcacheEntries += ipcache.entries.size();

    for (size_t endpointIndex = 0; endpointIndex < tables.endpoints.size(); ++endpointIndex) {
      const auto& endpointTables = tables.endpoints[endpointIndex];
      const auto& endpoint = *program.findEndpoint(endpointTables.endpoint);
      artifacts::EndpointArtifacts ep;
      ep.name = endpoint.name;
      ep.interface = endpoint.interface;
      ep.identity = endpoint.identity;
      for (const auto& address : endpoint.addresses) ep.addresses.push_back(address.addressText());
      for (auto direction : {ast::Direction::Ingress, ast::Direction::Egress}) {
        report.policyEntries += endpointTables.table(direction).entries.size();
        const bool ingress = direction == ast::Direction::Ingress;
        (ingress ? ep.ingressTable : ep.egressTable) =
            (*tablePaths)[nodeIndex][endpointIndex][ingress ? 0 : 1];
      }
      const auto& plannedEndpoint = plannedNode.endpoints.at(endpointIndex);
      if (const auto* planned = plan.programOf(plannedEndpoint)) {
        ep.source = sources[*plannedEndpoint.program].path;
        ep.fromEndpointProgram = planned->spec.egressProgram;
        ep.toEndpointProgram = planned->spec.ingressProgram;
        ep.ingressInline = planned->spec.ingressInlineEntries != 0;
        ep.egressInline = planned->spec.egressInlineEntries != 0;
        withPrograms.push_back(
            {manifest.nodes.size(), nodeArtifacts.endpoints.size(), *plannedEndpoint.program});
        ++report.programs;
      }
      nodeArtifacts.endpoints.push_back(std::move(ep));
      ++report.endpoints;
    }
    manifest.nodes.push_back(std::move(nodeArtifacts));
    ++report.nodes;
  }
  stepDone("write");
  ObjectBuildStats objectStats;
  ObjectBuildOptions objectOptions;
  objectOptions.jobs = threads;
  objectOptions.cacheDir = options.cacheDir;
  objectOptions.cacheMaxBytes = options.cacheMaxBytes;
  objectOptions.progress = options.progress;
  auto objects = buildObjects(out.root(), sources, includeDirs, codegen::bpfLibraryFiles(),
                              objectOptions, objectStats);
  if (!objects) return Error{objects.error()};
  std::vector<std::string> objectPaths;
  for (const auto& object : *objects) {
    auto path = out.addObject(object);
    if (!path) return Error{path.error()};
    objectPaths.push_back(*path);
  }
  for (const auto& use : withPrograms)
    manifest.nodes[use.node].endpoints[use.endpoint].object = objectPaths[use.program];
  report.objectsCompiled = objectStats.compiled;
  report.objectsCached = objectStats.cached;
  report.cacheEvicted = objectStats.evicted;
  stepDone("compile-objects");

  manifest.files = out.digests();
  for (const auto& [path, digest] : manifest.files)
    if (path.starts_with("objects/")) ++report.objects;
  if (auto status =
          polc::writeFile(staging.path() / "manifest.json", dumpJson(artifacts::toJson(manifest)));
      !status)
    return Error{status.error()};
  if (auto status = staging.commit(outDir); !status) return Error{status.error()};
  stepDone("commit");
  return report;
}

} // namespace

Expected<BuildReport> writeBuild(const Compiled& compiled, const fs::path& requestedOutDir,
                                 const BuildOptions& options) {
  // Errors are values; an exception (a std::filesystem call that throws, an
  // allocation) becomes one too, once unwinding has removed the staging
  // directory.
  try {
    return writeBuildOrThrow(compiled, requestedOutDir, options);
  } catch (const std::exception& e) {
    return Error{"cannot write the build: " + std::string(e.what())};
  }
}

} // namespace polc::driver
