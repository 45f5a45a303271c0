// polc agent's decisions without a kernel: where the bundle is, its
// fingerprint, when a bundle is tried, the record; one look at the bundle
// with a fake loader.
#include "polc/loader/agent.h"

#include "polc/artifacts/manifest.h"
#include "polc/support/files.h"

#include "../unit/temp_dir.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <sstream>
#include <stdexcept>

namespace polc::loader {
namespace {

namespace fs = std::filesystem;
using polc::testing::TempDir;

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  ASSERT_TRUE(polc::writeFile(path, text, polc::FileSync::Unsynced));
}

// A manifest that lists the node (nothing else: the fake loader does not read it).
std::string manifestWith(const std::string& node) {
  artifacts::Manifest manifest;
  manifest.nodes.push_back({node, "10.0.0.1", "nodes/" + node + "/ipcache.json", {}});
  return artifacts::dumpJson(artifacts::toJson(manifest));
}

TEST(AgentBundle, TheNodesDirectoryFirstThenTheSourceItselfWhenItHasTheNode) {
  TempDir source("agent-source");
  EXPECT_FALSE(bundleDirectory(source.path(), "n1"));
  write(source.path() / "manifest.json", manifestWith("n1"));
  EXPECT_EQ(bundleDirectory(source.path(), "n1"), source.path());
  EXPECT_FALSE(bundleDirectory(source.path(), "n2")) << "a build output without the node";
  fs::create_directories(source.path() / "n1");
  EXPECT_EQ(bundleDirectory(source.path(), "n1"), source.path() / "n1");
}

TEST(AgentBundle, TheFingerprintChangesWithAnyFileTheSignatureOrTheManifest) {
  TempDir source("agent-fingerprint");
  const auto bundle = source.path() / "n1";
  EXPECT_FALSE(fingerprintBundle(bundle)) << "no manifest yet: nothing to fingerprint";
  write(bundle / "manifest.json", manifestWith("n1"));
  auto first = fingerprintBundle(bundle);
  ASSERT_TRUE(first) << first.error();
  EXPECT_FALSE(first->signedBundle);
  EXPECT_EQ(fingerprintBundle(bundle)->digest, first->digest) << "stable while nothing changes";
  EXPECT_EQ(first->revision.size(), 64u);

  // The objects of a half-synced bundle arrive after its manifest.
  write(bundle / "objects" / "a.o", "object");
  auto withObject = fingerprintBundle(bundle);
  EXPECT_NE(withObject->digest, first->digest);
  EXPECT_EQ(withObject->revision, first->revision) << "the same manifest: the same revision";

  write(bundle / "objects" / "a.o", "object, longer");
  auto rewritten = fingerprintBundle(bundle);
  EXPECT_NE(rewritten->digest, withObject->digest);

  write(bundle / "manifest.sig", "signature");
  auto signedOnce = fingerprintBundle(bundle);
  EXPECT_TRUE(signedOnce->signedBundle);
  EXPECT_NE(signedOnce->digest, rewritten->digest);
  write(bundle / "manifest.sig", "SIGNATURE");
  EXPECT_NE(fingerprintBundle(bundle)->digest, signedOnce->digest);
}

AgentRecord recordOf(const std::string& fingerprint, AttemptOutcome outcome) {
  AgentRecord record;
  record.node = "n1";
  record.lastAttempt.emplace();
  record.lastAttempt->fingerprint = fingerprint;
  record.lastAttempt->outcome = outcome;
  return record;
}

TEST(AgentDecision, AFailedBundleIsTriedAgainOnlyOnceItChanges) {
  EXPECT_TRUE(shouldLoad(std::nullopt, "f1")) << "nothing recorded: load";
  AgentRecord noAttempt;
  noAttempt.node = "n1";
  EXPECT_TRUE(shouldLoad(noAttempt, "f1")) << "no attempt recorded: load";
  EXPECT_FALSE(shouldLoad(recordOf("f1", AttemptOutcome::Failed), "f1"));
  EXPECT_TRUE(shouldLoad(recordOf("f1", AttemptOutcome::Failed), "f2"));
  EXPECT_FALSE(shouldLoad(recordOf("f1", AttemptOutcome::Ok), "f1"));
  EXPECT_TRUE(shouldLoad(recordOf("f1", AttemptOutcome::Ok), "f2"));
  EXPECT_TRUE(shouldLoad(recordOf("f1", AttemptOutcome::Loading), "f1"))
      << "killed during the load: try it again";
}

TEST(AgentRecordFile, RoundTripsBesideTheLoaderStateWithoutLookingLikeIt) {
  TempDir stateDir("agent-state");
  auto absent = readAgentRecord(stateDir.path(), "n1");
  ASSERT_TRUE(absent);
  EXPECT_FALSE(*absent);
  AgentRecord record = recordOf("f1", AttemptOutcome::Failed);
  record.source = "/srv/bundles";
  record.appliedRevision = std::string(64, 'a');
  record.appliedFingerprint = "f0";
  record.appliedUnixNs = 1'700'000'000'000'000'000;
  record.lastAttempt->error = "bad signature";
  record.lastAttempt->unixNs = 1'700'000'001'000'000'000;
  record.lastAttempt->milliseconds = 1.5;
  record.loadsOk = 3;
  record.loadsFailed = 1;
  ASSERT_TRUE(writeAgentRecord(stateDir.path() / "sub", record));
  auto read = readAgentRecord(stateDir.path() / "sub", "n1");
  ASSERT_TRUE(read) << read.error();
  ASSERT_TRUE(*read);
  EXPECT_EQ(**read, record);
  EXPECT_EQ(agentRecordNodes(stateDir.path() / "sub"), std::vector<std::string>{"n1"});
  EXPECT_EQ(agentRecordFile(stateDir.path(), "n1").extension(), ".agent")
      << "not .json: the loader takes <node>.json for a node's state";

  write(agentRecordFile(stateDir.path(), "n2"), "{not json");
  EXPECT_FALSE(readAgentRecord(stateDir.path(), "n2"));
}

// Loads nothing: answers with the next result and remembers the requests.
class FakeLoader : public Loader {
public:
  std::vector<LoadRequest> requests;
  std::vector<Expected<LoadReport>> results;
  bool dies = false; // load() never returns (throws), as if the process were killed in it
  Expected<LoadReport> load(const LoadRequest& request) override {
    requests.push_back(request);
    if (dies) throw std::runtime_error("killed");
    if (results.empty()) return Error{"no result left"};
    auto result = results.front();
    results.erase(results.begin());
    return result;
  }
  Expected<UnloadReport> unload(const UnloadRequest&) override { return Error{"unused"}; }
  Expected<StatusReport> status(const StatusRequest&) override { return Error{"unused"}; }
};

LoadReport loaded(const std::string& revision) {
  LoadReport report;
  report.node = "n1";
  report.revision = revision;
  report.endpoints.emplace_back();
  report.endpoints.back().endpoint = "web-1";
  report.endpoints.back().action = EndpointAction::Attached;
  return report;
}

struct AgentFixture : ::testing::Test {
  TempDir source{"agent-check-source"};
  TempDir stateDir{"agent-check-state"};
  FakeLoader loader;
  std::ostringstream log, errors;
  AgentOptions options() const {
    AgentOptions options;
    options.source = source.path();
    options.node = "n1";
    options.trust = "/etc/polc/trusted";
    options.placement.stateDir = stateDir.path();
    return options;
  }
};

TEST_F(AgentFixture, LoadsANewBundleOnceAndRecordsIt) {
  Agent agent(loader, options(), log, errors);
  ASSERT_TRUE(agent.check());
  EXPECT_TRUE(loader.requests.empty()) << "no bundle yet";
  EXPECT_NE(log.str().find("waiting"), std::string::npos);

  write(source.path() / "n1" / "manifest.json", manifestWith("n1"));
  loader.results.push_back(loaded("r1"));
  ASSERT_TRUE(agent.check());
  ASSERT_EQ(loader.requests.size(), 1u);
  EXPECT_EQ(loader.requests[0].outDir, source.path() / "n1");
  EXPECT_EQ(loader.requests[0].node, "n1");
  EXPECT_EQ(loader.requests[0].trust, "/etc/polc/trusted");
  EXPECT_NE(log.str().find("loaded revision r1: 1 of 1 endpoints changed"), std::string::npos)
      << log.str();

  ASSERT_TRUE(agent.check());
  EXPECT_EQ(loader.requests.size(), 1u) << "the same bytes: nothing to do";
  auto record = readAgentRecord(stateDir.path(), "n1");
  ASSERT_TRUE(record && *record);
  EXPECT_EQ((*record)->appliedRevision, "r1");
  EXPECT_EQ((*record)->loadsOk, 1u);
  EXPECT_EQ((*record)->lastAttempt->outcome, AttemptOutcome::Ok);
}

TEST_F(AgentFixture, AFailedBundleIsNotRetriedUntilItChanges) {
  write(source.path() / "n1" / "manifest.json", manifestWith("n1"));
  loader.results.push_back(loaded("r1"));
  Agent agent(loader, options(), log, errors);
  ASSERT_TRUE(agent.check());

  write(source.path() / "n1" / "manifest.sig", "signed by someone else");
  loader.results.push_back(Error{"manifest.sig: not signed by a trusted key"});
  ASSERT_TRUE(agent.check());
  ASSERT_EQ(loader.requests.size(), 2u);
  EXPECT_NE(errors.str().find("refused"), std::string::npos);
  EXPECT_NE(errors.str().find("not signed by a trusted key"), std::string::npos);
  EXPECT_NE(errors.str().find("stays in force"), std::string::npos) << errors.str();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(agent.check());
  EXPECT_EQ(loader.requests.size(), 2u) << "the same failed bytes are not tried again";

  // Also after a restart: the record says it failed.
  Agent restarted(loader, options(), log, errors);
  ASSERT_TRUE(restarted.check());
  EXPECT_EQ(loader.requests.size(), 2u);
  EXPECT_EQ(restarted.record()->appliedRevision, "r1");
  EXPECT_EQ(restarted.record()->loadsFailed, 1u);
  EXPECT_EQ(restarted.record()->lastAttempt->error, "manifest.sig: not signed by a trusted key");

  write(source.path() / "n1" / "manifest.sig", "signed by the pipeline");
  loader.results.push_back(loaded("r1"));
  ASSERT_TRUE(restarted.check());
  EXPECT_EQ(loader.requests.size(), 3u) << "changed: tried again";
  EXPECT_EQ(restarted.record()->lastAttempt->outcome, AttemptOutcome::Ok);
}

TEST_F(AgentFixture, TrustingAnotherKeyTriesARefusedBundleAgain) {
  write(source.path() / "n1" / "manifest.json", manifestWith("n1"));
  write(stateDir.path() / "keys" / "old.pub", "old key");
  auto agentOptions = options();
  agentOptions.trust = stateDir.path() / "keys";
  Agent agent(loader, agentOptions, log, errors);
  loader.results.push_back(Error{"signed by key new, which is not trusted"});
  ASSERT_TRUE(agent.check());
  ASSERT_TRUE(agent.check());
  EXPECT_EQ(loader.requests.size(), 1u);
  write(stateDir.path() / "keys" / "README", "not a key: no change");
  ASSERT_TRUE(agent.check());
  EXPECT_EQ(loader.requests.size(), 1u);
  write(stateDir.path() / "keys" / "new.pub", "new key");
  loader.results.push_back(loaded("r1"));
  ASSERT_TRUE(agent.check());
  EXPECT_EQ(loader.requests.size(), 2u) << "a key added: tried again";
  EXPECT_EQ(agent.record()->lastAttempt->outcome, AttemptOutcome::Ok);
}

TEST_F(AgentFixture, AnAgentKilledDuringALoadTriesItAgain) {
  write(source.path() / "n1" / "manifest.json", manifestWith("n1"));
  {
    // An agent that never returns from its load: what it leaves is the
    // attempt written before the load.
    Agent killed(loader, options(), log, errors);
    loader.dies = true;
    EXPECT_THROW((void)killed.check(), std::runtime_error);
  }
  auto record = readAgentRecord(stateDir.path(), "n1");
  ASSERT_TRUE(record && *record);
  EXPECT_EQ((*record)->lastAttempt->outcome, AttemptOutcome::Loading);
  loader.dies = false;
  loader.results.push_back(loaded("r1"));
  Agent agent(loader, options(), log, errors);
  EXPECT_NE(errors.str().find("interrupted"), std::string::npos);
  ASSERT_TRUE(agent.check());
  EXPECT_EQ(loader.requests.size(), 2u) << "the same bytes, loaded again";
  EXPECT_EQ(agent.record()->lastAttempt->outcome, AttemptOutcome::Ok);
}

} // namespace
} // namespace polc::loader
