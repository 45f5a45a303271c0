// The agent's decisions and its record: where the bundle is, its
// fingerprint, whether to load it, and one look at it (Agent::check). The
// loop that waits for changes is agent_watch.cpp.
#include "polc/loader/agent.h"

#include "polc/artifacts/digest.h"
#include "polc/artifacts/manifest.h"
#include "polc/support/files.h"

#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <vector>

namespace polc::loader {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

uint64_t nowUnixNs() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return uint64_t(now.tv_sec) * 1'000'000'000 + uint64_t(now.tv_nsec);
}

// The bytes of the trusted keys (the file, or the *.pub files of the
// directory) as one digest: a bundle refused for its key is tried again
// once the key is trusted. Unreadable keys count as absent: the load says why.
std::string trustDigest(const fs::path& trust) {
  std::vector<fs::path> files;
  std::error_code ec;
  if (fs::is_directory(trust, ec)) {
    for (fs::directory_iterator it(trust, ec), end; !ec && it != end; it.increment(ec))
      if (it->path().extension() == ".pub") files.push_back(it->path());
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(trust);
  }
  std::string summary;
  for (const auto& file : files) {
    auto bytes = readFile(file);
    summary += file.filename().string() + " " + (bytes ? artifacts::sha256Hex(*bytes) : "-") + "\n";
  }
  return artifacts::sha256Hex(summary);
}

std::string shortRevision(const std::string& revision) {
  return revision.empty() ? "(none)" : revision.substr(0, 12);
}

} // namespace

std::optional<fs::path> bundleDirectory(const fs::path& source, const std::string& node) {
  std::error_code ec;
  const auto own = source / node;
  if (fs::is_directory(own, ec)) return own;
  auto manifest = artifacts::readManifest(source);
  if (manifest && manifest->findNode(node)) return source;
  return std::nullopt;
}

Expected<BundleFingerprint> fingerprintBundle(const fs::path& bundle) {
  auto manifest = readFile(bundle / "manifest.json");
  if (!manifest) return Error{manifest.error()};
  BundleFingerprint fingerprint;
  fingerprint.revision = artifacts::sha256Hex(*manifest);
  std::string summary = "manifest " + fingerprint.revision + "\n";
  std::error_code ec;
  if (fs::exists(bundle / "manifest.sig", ec)) {
    auto signature = readFile(bundle / "manifest.sig");
    if (!signature) return Error{signature.error()};
    fingerprint.signedBundle = true;
    summary += "signature " + artifacts::sha256Hex(*signature) + "\n";
  }
  // Every file below the bundle, sorted: path, size, mtime. A file that
  // vanishes between the listing and its stat is left out (the sync that
  // removes it makes another event, and another look).
  std::vector<std::string> files;
  for (fs::recursive_directory_iterator it(bundle, ec), end; !ec && it != end; it.increment(ec)) {
    struct stat st {};
    if (::stat(it->path().c_str(), &st) != 0 || S_ISDIR(st.st_mode)) continue;
    files.push_back(fs::relative(it->path(), bundle).string() + "\t" + std::to_string(st.st_size) +
                    "\t" + std::to_string(st.st_mtim.tv_sec) + "." +
                    std::to_string(st.st_mtim.tv_nsec));
  }
  if (ec) return Error{"cannot list " + bundle.string() + ": " + ec.message()};
  std::sort(files.begin(), files.end());
  for (const auto& file : files) summary += file + "\n";
  fingerprint.digest = artifacts::sha256Hex(summary);
  return fingerprint;
}

const char* toString(AttemptOutcome outcome) {
  switch (outcome) {
  case AttemptOutcome::Loading:
    return "loading";
  case AttemptOutcome::Ok:
    return "ok";
  case AttemptOutcome::Failed:
    return "failed";
  }
  return "loading";
}

fs::path agentRecordFile(const fs::path& stateDir, const std::string& node) {
  return stateDir / (node + ".agent");
}

namespace {

json attemptJson(const AgentAttempt& attempt) {
  return {{"unix_ns", attempt.unixNs},
          {"fingerprint", attempt.fingerprint},
          {"revision", attempt.revision},
          {"bundle", attempt.bundle},
          {"outcome", toString(attempt.outcome)},
          {"error", attempt.error},
          {"milliseconds", attempt.milliseconds}};
}

AgentAttempt attemptFrom(const json& j) {
  AgentAttempt attempt;
  attempt.unixNs = j.at("unix_ns").get<uint64_t>();
  attempt.fingerprint = j.at("fingerprint").get<std::string>();
  attempt.revision = j.at("revision").get<std::string>();
  attempt.bundle = j.value("bundle", "");
  const auto outcome = j.at("outcome").get<std::string>();
  attempt.outcome = outcome == "ok"       ? AttemptOutcome::Ok
                    : outcome == "failed" ? AttemptOutcome::Failed
                                          : AttemptOutcome::Loading;
  attempt.error = j.value("error", "");
  attempt.milliseconds = j.value("milliseconds", 0.0);
  return attempt;
}

} // namespace

Expected<std::optional<AgentRecord>> readAgentRecord(const fs::path& stateDir,
                                                     const std::string& node) {
  const auto file = agentRecordFile(stateDir, node);
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(file, ec))) return std::optional<AgentRecord>{};
  auto text = readFile(file);
  if (!text) return Error{"cannot read the agent's record: " + text.error()};
  try {
    const auto j = json::parse(*text);
    AgentRecord record;
    record.node = j.at("node").get<std::string>();
    record.source = j.value("source", "");
    record.appliedRevision = j.value("applied_revision", "");
    record.appliedFingerprint = j.value("applied_fingerprint", "");
    record.appliedUnixNs = j.value("applied_unix_ns", uint64_t{0});
    if (j.contains("last_attempt") && !j.at("last_attempt").is_null())
      record.lastAttempt = attemptFrom(j.at("last_attempt"));
    record.loadsOk = j.value("loads_ok", uint64_t{0});
    record.loadsFailed = j.value("loads_failed", uint64_t{0});
    return std::optional<AgentRecord>{std::move(record)};
  } catch (const json::exception& e) {
    return Error{"cannot read the agent's record " + file.string() + ": " + e.what()};
  }
}

std::string agentRecordJson(const AgentRecord& record) {
  json j{{"node", record.node},
         {"source", record.source},
         {"applied_revision", record.appliedRevision},
         {"applied_fingerprint", record.appliedFingerprint},
         {"applied_unix_ns", record.appliedUnixNs},
         {"last_attempt", record.lastAttempt ? attemptJson(*record.lastAttempt) : json(nullptr)},
         {"loads_ok", record.loadsOk},
         {"loads_failed", record.loadsFailed}};
  return artifacts::dumpJson(j);
}

Status writeAgentRecord(const fs::path& stateDir, const AgentRecord& record) {
  std::error_code ec;
  fs::create_directories(stateDir, ec);
  if (ec) return Error{"cannot create " + stateDir.string() + ": " + ec.message()};
  return writeFile(agentRecordFile(stateDir, record.node), agentRecordJson(record));
}

std::vector<std::string> agentRecordNodes(const fs::path& stateDir) {
  std::vector<std::string> nodes;
  std::error_code ec;
  for (fs::directory_iterator it(stateDir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".agent") nodes.push_back(it->path().stem().string());
  std::sort(nodes.begin(), nodes.end());
  return nodes;
}

bool shouldLoad(const std::optional<AgentRecord>& record, const std::string& fingerprint) {
  if (!record || !record->lastAttempt) return true;
  const auto& last = *record->lastAttempt;
  return last.fingerprint != fingerprint || last.outcome == AttemptOutcome::Loading;
}

Agent::Agent(Loader& loader, AgentOptions options, std::ostream& log, std::ostream& errors)
    : loader_(loader), options_(std::move(options)), log_(log), errors_(errors) {
  auto record = readAgentRecord(options_.placement.stateDir, options_.node);
  if (!record)
    say(errors_, "cannot read its record, starting a new one: " + record.error());
  else
    record_ = std::move(*record);
  if (record_ && record_->lastAttempt && record_->lastAttempt->outcome == AttemptOutcome::Loading)
    say(errors_, "the load of revision " + shortRevision(record_->lastAttempt->revision) +
                     " was interrupted (agent killed): trying again");
}

void Agent::say(std::ostream& out, const std::string& line) {
  out << "polc agent: " << options_.node << ": " << line << std::endl;
}

void Agent::waiting(const std::string& why) {
  if (why == waitingFor_) return;
  waitingFor_ = why;
  say(log_, why);
}

Status Agent::check() {
  auto bundle = bundleDirectory(options_.source, options_.node);
  if (!bundle) {
    waiting("no bundle in " + options_.source.string() + " (neither " +
            (options_.source / options_.node).string() +
            "/ nor a build output with the node): waiting");
    return okStatus();
  }
  auto fingerprint = fingerprintBundle(*bundle);
  if (!fingerprint) {
    waiting("bundle " + bundle->string() + " not readable yet: " + fingerprint.error() +
            ": waiting");
    return okStatus();
  }
  waitingFor_.clear();
  // The keys are part of what is tried: a bundle refused for its key is
  // tried again once that key is trusted.
  if (!options_.trust.empty())
    fingerprint->digest =
        artifacts::sha256Hex(fingerprint->digest + " " + trustDigest(options_.trust));
  if (!shouldLoad(record_, fingerprint->digest)) return okStatus();
  return load(*bundle, *fingerprint);
}

Status Agent::load(const fs::path& bundle, const BundleFingerprint& fingerprint) {
  if (!record_) {
    record_.emplace();
    record_->node = options_.node;
  }
  record_->source = options_.source.string();
  AgentAttempt attempt;
  attempt.unixNs = nowUnixNs();
  attempt.fingerprint = fingerprint.digest;
  attempt.revision = fingerprint.revision;
  attempt.bundle = bundle.string();
  record_->lastAttempt = attempt;
  // Written first: a kill during the load leaves "loading", which the next
  // agent tries again (the loader's journal makes that load converge).
  if (auto written = writeAgentRecord(options_.placement.stateDir, *record_); !written)
    return written;
  say(log_, "loading revision " + shortRevision(fingerprint.revision) + " from " + bundle.string() +
                (fingerprint.signedBundle ? "" : " (unsigned)"));

  LoadRequest request;
  request.outDir = bundle;
  request.node = options_.node;
  request.placement = options_.placement;
  request.lockTimeout = options_.lockTimeout;
  request.trust = options_.trust;
  const auto start = std::chrono::steady_clock::now();
  auto report = loader_.load(request);
  attempt.milliseconds =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  char took[32];
  std::snprintf(took, sizeof took, "%.1f ms", attempt.milliseconds);
  if (report) {
    attempt.outcome = AttemptOutcome::Ok;
    record_->appliedRevision = report->revision;
    record_->appliedFingerprint = fingerprint.digest;
    record_->appliedUnixNs = attempt.unixNs;
    ++record_->loadsOk;
    size_t changed = 0;
    for (const auto& endpoint : report->endpoints)
      if (endpoint.action != EndpointAction::Unchanged) ++changed;
    say(log_,
        "loaded revision " + shortRevision(report->revision) +
            (report->previousRevision.empty()
                 ? std::string()
                 : " (was " + shortRevision(report->previousRevision) + ")") +
            ": " + std::to_string(changed) + " of " + std::to_string(report->endpoints.size()) +
            " endpoints changed, in " + took +
            (report->signedBy.empty() ? std::string() : "; signed by key " + report->signedBy));
  } else {
    attempt.outcome = AttemptOutcome::Failed;
    attempt.error = errorText(report.failure());
    ++record_->loadsFailed;
    say(errors_,
        "revision " + shortRevision(fingerprint.revision) + " refused after " + took + ": " +
            report.error() +
            (record_->appliedRevision.empty()
                 ? std::string()
                 : " (revision " + shortRevision(record_->appliedRevision) + " stays in force)") +
            "; tried again when the bundle changes");
  }
  record_->lastAttempt = attempt;
  return writeAgentRecord(options_.placement.stateDir, *record_);
}

} // namespace polc::loader
