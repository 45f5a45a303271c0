// What a load decides to do per endpoint, and how it reports it: no kernel.
#include "load_plan.h"
#include "load_steps.h"
#include "node_pins.h"

#include "polc/loader/loader.h"
#include "polc/maps/map_encoding.h"
#include "polc/support/files.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include <unistd.h>

namespace polc::runtime {
namespace {

EndpointRecord record(const std::string& interface, const std::string& object) {
  return {interface, 7, 300, object, {"polc_from_ep", "polc_to_ep"}, {}};
}

NodeState loadedWith(const std::vector<std::pair<std::string, EndpointRecord>>& endpoints) {
  NodeState state;
  state.node = "n1";
  for (const auto& [name, rec] : endpoints) {
    state.endpoints[name] = rec;
    for (const auto& program : rec.programs)
      state.attachments.push_back({name, rec.interface, rec.ifindex,
                                   program == "polc_from_ep" ? "tc-ingress" : "tc-egress", 1, 1,
                                   program, 10, false});
  }
  return state;
}

TEST(LoadPlan, FirstLoadAttachesEveryEndpoint) {
  auto plan = planLoad(NodeState{}, {{"a", record("pa", "o1")}, {"b", record("pb", "o1")}}, {});
  ASSERT_EQ(plan.endpoints.size(), 2u);
  EXPECT_EQ(plan.endpoints[0].programs, ProgramPlan::Attach);
  EXPECT_EQ(plan.endpoints[1].programs, ProgramPlan::Attach);
  EXPECT_TRUE(plan.departing.empty());
}

TEST(LoadPlan, SameObjectKeepsProgramsOnlyWhenTheKernelRunsThem) {
  auto previous = loadedWith({{"a", record("pa", "o1")}, {"b", record("pb", "o1")}});
  auto wanted = std::vector<std::pair<std::string, EndpointRecord>>{{"a", record("pa", "o1")},
                                                                    {"b", record("pb", "o1")}};
  auto plan = planLoad(previous, wanted, {"a"}); // b's hooks run something else now
  EXPECT_EQ(plan.endpoints[0].programs, ProgramPlan::Keep);
  EXPECT_EQ(plan.endpoints[1].programs, ProgramPlan::Replace);
}

TEST(LoadPlan, AnyChangeToWhatRunsReplacesThePrograms) {
  auto previous = loadedWith({{"a", record("pa", "o1")}});
  auto otherObject = record("pa", "o2");
  auto otherIdentity = record("pa", "o1");
  otherIdentity.identity = 301;
  auto recreated = record("pa", "o1");
  recreated.ifindex = 8;
  auto fewerPrograms = record("pa", "o1");
  fewerPrograms.programs = {"polc_to_ep"};
  auto otherInlineTable = record("pa", "o1"); // a table compiled in as code changed
  otherInlineTable.inlineTables = {"sha256-of-the-new-ingress-table"};
  for (const auto& changed :
       {otherObject, otherIdentity, recreated, fewerPrograms, otherInlineTable})
    EXPECT_EQ(planLoad(previous, {{"a", changed}}, {"a"}).endpoints[0].programs,
              ProgramPlan::Replace);
}

TEST(LoadPlan, StateWithoutEndpointRecordsReplaces) {
  auto previous = loadedWith({{"a", record("pa", "o1")}});
  previous.endpoints.clear(); // written before records existed
  EXPECT_EQ(planLoad(previous, {{"a", record("pa", "o1")}}, {"a"}).endpoints[0].programs,
            ProgramPlan::Replace);
}

TEST(LoadPlan, EndpointsThatLeaveAreDeparting) {
  auto previous = loadedWith({{"a", record("pa", "o1")}, {"gone", record("pg", "o1")}});
  auto plan = planLoad(previous, {{"a", record("pa", "o1")}}, {"a", "gone"});
  EXPECT_EQ(plan.departing, std::vector<std::string>{"gone"});
}

TEST(MapContents, DiffCountsAddedRemovedAndChanged) {
  maps::MapContents before{{"k1", "v1"}, {"k2", "v2"}, {"k3", "v3"}};
  maps::MapContents after{{"k1", "v1"}, {"k2", "vX"}, {"k4", "v4"}, {"k5", "v5"}};
  auto change = maps::diffContents(before, after);
  EXPECT_EQ(change.added, 2u);
  EXPECT_EQ(change.removed, 1u);
  EXPECT_EQ(change.changed, 1u);
  EXPECT_TRUE(maps::diffContents(after, after).none());
}

TEST(MapContents, RefusesOneKeyWithTwoValues) {
  auto contents = maps::toMapContents("m", 2, 1, {{"ab", "x"}, {"ab", "y"}});
  ASSERT_FALSE(contents);
  EXPECT_NE(contents.error().find("same key"), std::string::npos);
  EXPECT_TRUE(maps::toMapContents("m", 2, 1, {{"ab", "x"}, {"ab", "x"}}));
}

loader::LoadReport sampleReport() {
  loader::LoadReport report;
  report.node = "node-1";
  report.revision = "0123456789abcdef0123";
  report.previousRevision = "fedcba9876543210";
  report.endpoints.push_back(
      {"web-1", "pw-web1", loader::EndpointAction::TablesUpdated, {1, 1, 0}, {0, 0, 2}, 5});
  report.endpoints.push_back({"db-1", "pw-db1", loader::EndpointAction::Unchanged, {}, {}, 1});
  report.endpoints.push_back(
      {"debug-1", "pw-debug1", loader::EndpointAction::Attached, {2, 0, 0}, {}, 2});
  report.endpoints.push_back({"old-1", "pw-old1", loader::EndpointAction::Detached, {}, {}, 0});
  report.ipcache = {1, 0, 0};
  report.policyEntries = 8;
  report.ipcacheEntries = 5;
  return report;
}

TEST(LoadReportFormat, TextSummarizesThenOneLinePerEndpoint) {
  EXPECT_EQ(loader::loadReportText(sampleReport()),
            "polc: loaded node node-1 revision 0123456789ab (was fedcba987654): 1 attached, 1 "
            "tables-updated, 1 unchanged, 1 detached; ipcache +1/-0 (5 entries), 8 policy entries\n"
            "  web-1  pw-web1  tables-updated  ingress +1/-1, egress +0/-0/~2 (5 entries)\n"
            "  db-1  pw-db1  unchanged\n"
            "  debug-1  pw-debug1  attached  ingress +2/-0, egress +0/-0 (2 entries)\n"
            "  old-1  pw-old1  detached\n");
}

TEST(LoadReportFormat, JsonHasOneObjectPerEndpoint) {
  auto j = nlohmann::json::parse(loader::loadReportJson(sampleReport()));
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["previous_revision"], "fedcba9876543210");
  ASSERT_EQ(j["endpoints"].size(), 4u);
  EXPECT_EQ(j["endpoints"][0]["action"], "tables-updated");
  EXPECT_EQ(j["endpoints"][0]["ingress"]["added"], 1);
  EXPECT_EQ(j["endpoints"][0]["egress"]["changed"], 2);
  EXPECT_EQ(j["ipcache"]["added"], 1);
  EXPECT_EQ(j["policy_entries"], 8);
}

TEST(LoadSteps, FailAtNamesTheStep) {
  ::setenv("POLC_LOADER_FAIL_AT", "fill-tables", 1);
  EXPECT_TRUE(reachStep("load-objects"));
  auto failed = reachStep("fill-tables");
  ::unsetenv("POLC_LOADER_FAIL_AT");
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().find("fill-tables"), std::string::npos);
  EXPECT_TRUE(reachStep("fill-tables"));
}

} // namespace
} // namespace polc::runtime

namespace polc::runtime {
namespace {

TEST(NodeStateJournal, PendingLoadIsItsOwnFileAndReadsBackIntoTheState) {
  auto dir =
      std::filesystem::temp_directory_path() / ("polc-t-journal-" + std::to_string(::getpid()));
  NodeState state = loadedWith({{"a", record("pa", "o1")}});
  state.pinRoot = "/sys/fs/bpf/x";
  ASSERT_TRUE(writeNodeState(dir, state));
  PendingLoad pending{"abc", "/out", "switching", {"n1/a/polc_to_ep-next"}};
  ASSERT_TRUE(writePendingLoad(dir, "n1", pending));
  EXPECT_EQ(nodesWithState(dir), std::vector<std::string>{"n1"}); // the journal is no node

  auto read = readNodeState(stateFile(dir, "n1"));
  ASSERT_TRUE(read && *read);
  EXPECT_EQ((*read)->pending, pending);
  EXPECT_EQ((*read)->endpoints, state.endpoints);
  EXPECT_EQ((*read)->attachments, state.attachments);

  removePendingLoad(dir, "n1");
  read = readNodeState(stateFile(dir, "n1"));
  ASSERT_TRUE(read && *read);
  EXPECT_FALSE((*read)->pending);
  std::filesystem::remove_all(dir);
}

// A build directory whose path is not UTF-8 still leaves a state and a
// journal that the next load, unload and status can read (the bad bytes
// read back as U+FFFD: the path is only shown, never opened from there).
TEST(NodeStateFile, PathThatIsNotUtf8StillWritesValidJson) {
  auto dir = std::filesystem::temp_directory_path() / ("polc-t-utf8-" + std::to_string(::getpid()));
  NodeState state = loadedWith({{"a", record("pa", "o1")}});
  state.outDir = "/tmp/out\xff";
  ASSERT_TRUE(writeNodeState(dir, state));
  ASSERT_TRUE(writePendingLoad(dir, "n1", {"abc", "/tmp/out\xff", "preparing", {}}));
  auto read = readNodeState(stateFile(dir, "n1"));
  ASSERT_TRUE(read) << read.error();
  ASSERT_TRUE(*read);
  EXPECT_EQ((*read)->outDir, "/tmp/out\xef\xbf\xbd");
  ASSERT_TRUE((*read)->pending);
  EXPECT_EQ((*read)->pending->outDir, "/tmp/out\xef\xbf\xbd");
  std::filesystem::remove_all(dir);
}

TEST(NodeStateFile, EveryFieldReadsBackAsWritten) {
  auto dir =
      std::filesystem::temp_directory_path() / ("polc-t-state-" + std::to_string(::getpid()));
  NodeState state = loadedWith({{"a", record("pa", "o1")}, {"b \"q\"\\\t", record("pb", "o2")}});
  state.netns = "polc-n-n1";
  state.pinRoot = "/sys/fs/bpf/x";
  state.revision = "abc";
  state.outDir = "/out/\u00e9";
  state.loadedUnixNs = 1'796'000'000'123'456'789;
  state.attachments.front().qdiscCreatedByPolc = true;
  state.attachments.front().programId = 4000000000u;
  state.pins = {"n1/a/polc_policy_in", "n1/polc_ct"};
  state.mapEntries = {{"n1/a/polc_policy_in", 3}, {"n1/polc_ipcache", 0}};
  state.tableSha256 = {{"n1/a/polc_policy_in", std::string(64, 'f')}};
  ASSERT_TRUE(writeNodeState(dir, state));
  auto read = readNodeState(stateFile(dir, "n1"));
  ASSERT_TRUE(read && *read) << (read ? "" : read.error());
  EXPECT_EQ(**read, state);
  std::filesystem::remove_all(dir);
}

// The state as the polc before the simdjson reader wrote it (and, older,
// without revisions, fills, table digests and endpoint records): a node
// loaded by it is read as it was, not reloaded from scratch.
TEST(NodeStateFile, StateOfEarlierVersionsReadsBack) {
  auto dir =
      std::filesystem::temp_directory_path() / ("polc-t-oldstate-" + std::to_string(::getpid()));
  ASSERT_TRUE(writeFile(
      dir / "n1.json",
      R"({"node":"n1","netns":"ns","pin_root":"/sys/fs/bpf/x","revision":"abc","out_dir":"/out",)"
      R"("attachments":[{"endpoint":"a","interface":"pa","ifindex":7,"hook":"tc-egress",)"
      R"("handle":1,"priority":1,"program":"polc_to_ep","program_id":10,)"
      R"("qdisc_created_by_polc":true}],"pins":["n1/a/polc_policy_in","n1/polc_ct"],)"
      R"("map_entries":{"n1/a/polc_policy_in":3},"table_sha256":{"n1/a/polc_policy_in":"ff"},)"
      R"("endpoints":{"a":{"interface":"pa","ifindex":7,"identity":300,"object_sha256":"o1",)"
      R"("programs":["polc_to_ep"]}}})"
      "\n"));
  auto read = readNodeState(stateFile(dir, "n1"));
  ASSERT_TRUE(read && *read) << (read ? "" : read.error());
  const auto& state = **read;
  EXPECT_EQ(state.revision, "abc");
  EXPECT_EQ(state.attachments,
            (std::vector<TcAttachment>{{"a", "pa", 7, "tc-egress", 1, 1, "polc_to_ep", 10, true}}));
  EXPECT_EQ(state.mapEntries.at("n1/a/polc_policy_in"), 3u);
  EXPECT_EQ(state.tableSha256.at("n1/a/polc_policy_in"), "ff");
  EXPECT_EQ(state.endpoints.at("a"), (EndpointRecord{"pa", 7, 300, "o1", {"polc_to_ep"}, {}}));

  ASSERT_TRUE(writeFile(dir / "n2.json", R"({
    "node": "n2", "netns": "", "pin_root": "/sys/fs/bpf/x", "attachments": [], "pins": []
  })"));
  read = readNodeState(stateFile(dir, "n2"));
  ASSERT_TRUE(read && *read) << (read ? "" : read.error());
  EXPECT_EQ((*read)->revision, "");
  EXPECT_TRUE((*read)->endpoints.empty() && (*read)->tableSha256.empty());
  std::filesystem::remove_all(dir);
}

TEST(NodeStateFile, MalformedStateNamesTheFileAndTheKey) {
  auto dir =
      std::filesystem::temp_directory_path() / ("polc-t-badstate-" + std::to_string(::getpid()));
  ASSERT_TRUE(writeFile(dir / "n1.json", R"({"node":"n1","netns":"","pin_root":7})"));
  auto read = readNodeState(stateFile(dir, "n1"));
  ASSERT_FALSE(read);
  EXPECT_NE(read.error().find("n1.json is malformed: \"pin_root\" is not a string"),
            std::string::npos)
      << read.error();
  ASSERT_TRUE(writeFile(dir / "n1.json", "{\"node\":"));
  read = readNodeState(stateFile(dir, "n1"));
  ASSERT_FALSE(read);
  EXPECT_NE(read.error().find("n1.json is malformed: not valid JSON"), std::string::npos)
      << read.error();
  std::filesystem::remove_all(dir);
}

TEST(NodePins, ExistingPinsAreLookedUpUnderTheNode) {
  auto root =
      std::filesystem::temp_directory_path() / ("polc-t-pins-" + std::to_string(::getpid()));
  ASSERT_TRUE(writeFile(root / "n1/a/polc_to_ep", ""));
  ASSERT_TRUE(writeFile(root / "outside", ""));
  EXPECT_EQ(
      existingPins(root, "n1",
                   {"n1/a/polc_to_ep", "n1/a/polc_from_ep", "n1/../outside", "n2/a/polc_to_ep"}),
      (std::vector<bool>{true, false, false, false}));
  EXPECT_EQ(existingPins(root / "none", "n1", {"n1/a/polc_to_ep"}), std::vector<bool>{false});
  std::filesystem::remove_all(root);
}

} // namespace
} // namespace polc::runtime
