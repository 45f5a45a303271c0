// The kernel loader against a lab: a fixture BPF object with the datapath's
// maps, a hand-written build output directory, real tc hooks and traffic.
// Every namespace, pin and state file carries the test's random prefix and
// is removed in TearDown, also after a failure.
#include "polc/lab/lab.h"
#include "polc/loader/loader.h"

#include "kernel_test_support.h"
#include "load_steps.h"
#include "node_state.h"
#include "polc/support/command.h"
#include "polc/support/netns_guard.h"
#include "polc/support/unique_fd.h"
#include "state_lock.h"
#include "tc.h"

#include "polc/artifacts/digest.h"
#include "polc/artifacts/manifest.h"
#include "polc/artifacts/tables.h"
#include "polc/maps/map_backend.h"
#include "polc_structs.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/mount.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <latch>
#include <map>
#include <optional>
#include <set>
#include <thread>

namespace polc::loader {
namespace {

namespace fs = std::filesystem;
using artifacts::Verdict;

constexpr int kTimeoutMs = 2000;
constexpr int kBlockedTimeoutMs = 700; // a dropped SYN: wait a little, not long
constexpr uint32_t kIdentityA = 256;
constexpr uint32_t kIdentityB = 257;

// The artifacts a build would write for one node with endpoints a and b.
struct OutDirSpec {
  std::vector<artifacts::PolicyEntry> bIngress = {}; // b's ingress table
  std::vector<std::string> endpoints = {"a", "b"};
  std::string bInterface = "lxc-b";
  uint32_t bIdentity = kIdentityB;                       // another identity: other programs for b
  bool bRejected = false;                                // b's object is one the verifier refuses
  std::vector<artifacts::IpcacheEntry> moreIpcache = {}; // beside a's and b's addresses
};

class OutDirWriter {
public:
  explicit OutDirWriter(fs::path dir) : dir_(std::move(dir)) {}

  void write(const OutDirSpec& spec) {
    fs::create_directories(dir_);
    artifacts::Manifest manifest;
    manifest.polcVersion = "test";
    manifest.cluster = "loader-test";
    artifacts::NodeArtifacts node{"n1", "10.77.0.1", "nodes/n1/ipcache.json", {}};
    artifacts::Ipcache ipcache;
    ipcache.entries = {{4, "10.77.1.10", 32, kIdentityA}, {4, "10.77.1.11", 32, kIdentityB}};
    ipcache.entries.insert(ipcache.entries.end(), spec.moreIpcache.begin(), spec.moreIpcache.end());
    std::sort(ipcache.entries.begin(), ipcache.entries.end());
    add(manifest, node.ipcache, artifacts::toJsonText(ipcache));
    add(manifest, "objects/fixture.o", polc::readFile(POLC_LOADER_FIXTURE_OBJECT).value());
    if (spec.bRejected)
      add(manifest, "objects/rejected.o", polc::readFile(POLC_LOADER_REJECTED_OBJECT).value());
    for (const auto& name : spec.endpoints) {
      artifacts::EndpointArtifacts endpoint;
      endpoint.name = name;
      endpoint.interface = name == "b" ? spec.bInterface : "lxc-" + name;
      endpoint.identity = name == "a" ? kIdentityA : spec.bIdentity;
      endpoint.object = name == "b" && spec.bRejected ? "objects/rejected.o" : "objects/fixture.o";
      endpoint.fromEndpointProgram = endpoint.toEndpointProgram = true;
      endpoint.source = "endpoints/" + name + "/program.c";
      endpoint.ingressTable = "endpoints/" + name + "/ingress.json";
      endpoint.egressTable = "endpoints/" + name + "/egress.json";
      add(manifest, endpoint.source, "/* fixture */\n");
      for (auto direction : {artifacts::Direction::Ingress, artifacts::Direction::Egress}) {
        artifacts::PolicyTable table;
        if (name == "b" && direction == artifacts::Direction::Ingress)
          table.entries = spec.bIngress;
        add(manifest,
            direction == artifacts::Direction::Ingress ? endpoint.ingressTable
                                                       : endpoint.egressTable,
            artifacts::toJsonText(table)); // as a build writes it
      }
      node.endpoints.push_back(endpoint);
    }
    manifest.nodes = {node};
    ASSERT_TRUE(
        polc::writeFile(dir_ / "manifest.json", artifacts::dumpJson(artifacts::toJson(manifest))));
  }

private:
  void add(artifacts::Manifest& manifest, const std::string& path, const std::string& contents) {
    ASSERT_TRUE(polc::writeFile(dir_ / path, contents));
    manifest.files[path] = artifacts::sha256Hex(contents);
  }
  fs::path dir_;
};

artifacts::PolicyEntry denyTcpFrom(uint32_t identity, uint16_t port, uint32_t rule) {
  return {identity, IPPROTO_TCP, port, 16, Verdict::Deny, rule};
}

// Every key of a pinned LPM map, as (identity, port) for policy maps.
template <typename Key> std::vector<Key> pinnedMapKeys(const fs::path& pin) {
  std::vector<Key> keys;
  int fd = bpf_obj_get(pin.c_str());
  if (fd < 0) return keys;
  Key current{}, next{};
  const void* previous = nullptr;
  while (bpf_map_get_next_key(fd, previous, &next) == 0) {
    keys.push_back(next);
    current = next;
    previous = &current;
  }
  ::close(fd);
  return keys;
}

std::set<std::pair<uint32_t, uint16_t>> policyIdentityPorts(const fs::path& pin) {
  std::set<std::pair<uint32_t, uint16_t>> result;
  for (const auto& key : pinnedMapKeys<polc_policy_key>(pin))
    result.insert({key.identity, ntohs(key.dport)});
  return result;
}

uint32_t pinnedMapId(const fs::path& pin) {
  int fd = bpf_obj_get(pin.c_str());
  if (fd < 0) return 0;
  bpf_map_info info{};
  uint32_t length = sizeof info;
  uint32_t id = bpf_obj_get_info_by_fd(fd, &info, &length) == 0 ? info.id : 0;
  ::close(fd);
  return id;
}

// The node's policy epoch (bpf/lib/polc_conntrack.h); nullopt: not pinned.
std::optional<uint32_t> policyEpoch(const fs::path& pin) {
  UniqueFd fd(bpf_obj_get(pin.c_str()));
  const uint32_t zero = 0;
  polc_epoch_value value{};
  if (fd.get() < 0 || bpf_map_lookup_elem(fd.get(), &zero, &value) != 0) return std::nullopt;
  return value.epoch;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  return text;
}

// A tmpfs of the test's own on one of its directories, unmounted at the end.
class TmpfsMount {
public:
  TmpfsMount(fs::path dir, const std::string& options) : dir_(std::move(dir)) {
    mounted_ = ::mount("polc-test", dir_.c_str(), "tmpfs", 0, options.c_str()) == 0;
  }
  ~TmpfsMount() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
  bool mounted() const { return mounted_; }
  bool remount(const std::string& options) {
    return ::mount(nullptr, dir_.c_str(), nullptr, MS_REMOUNT, options.c_str()) == 0;
  }

private:
  fs::path dir_;
  bool mounted_ = false;
};

class LoaderTest : public ::testing::Test {
protected:
  void SetUp() override {
    POLC_REQUIRE_KERNEL_SUPPORT();
    prefix_ = polc::testing::randomTestPrefix();
    placement_.pinRoot = fs::path("/sys/fs/bpf") / prefix_;
    placement_.stateDir = fs::path("/run") / prefix_;
    placement_.netns = lab::nodeNamespace(prefix_, "n1");
    outDir_ = fs::temp_directory_path() / (prefix_ + "-out");

    topology::Topology topology;
    topology::Node node;
    node.name = "n1";
    node.address = parseAddress("10.77.0.1");
    auto addEndpoint = [&](std::string name, const char* address, std::string interface) {
      topology::Endpoint endpoint;
      endpoint.name = std::move(name);
      endpoint.node = node.name;
      endpoint.addresses = {*parseAddress(address)};
      endpoint.interface = std::move(interface);
      node.endpoints.push_back(std::move(endpoint));
    };
    addEndpoint("a", "10.77.1.10", "lxc-a");
    addEndpoint("b", "10.77.1.11", "lxc-b");
    topology.nodes = {node};
    auto created = lab::up(topology, {.prefix = prefix_});
    ASSERT_TRUE(created) << created.error();
  }

  void TearDown() override {
    if (prefix_.empty()) return;
    (void)loader_->unload({"", placement_});
    (void)lab::down({.prefix = prefix_});
    std::error_code ec;
    // Only the test's own directories: named with its random prefix.
    fs::remove_all(placement_.pinRoot, ec);
    fs::remove_all(placement_.stateDir, ec);
    fs::remove_all(outDir_, ec);
  }

  LoadRequest request() const { return {outDir_, "", placement_}; }
  fs::path pin(const std::string& relative) const { return placement_.pinRoot / relative; }
  std::string endpointNs(const std::string& name) const {
    return lab::endpointNamespace(prefix_, name);
  }

  // polc's filter on a host-side interface of the node, if any.
  std::optional<uint32_t> attachedProgram(const std::string& interface, const std::string& hook) {
    auto netns = NetnsGuard::enter(placement_.netns);
    if (!netns) return std::nullopt;
    auto index = runtime::interfaceIndex(interface);
    if (!index) return std::nullopt;
    maps::LibbpfLogCapture quiet; // "no such filter" is an answer here, not noise
    auto program = runtime::queryFilter(*index, hook, quiet);
    return program ? *program : std::nullopt;
  }

  bool hasClsact(const std::string& interface) {
    auto qdiscs = runCommand({"tc", "-n", placement_.netns, "qdisc", "show", "dev", interface});
    return qdiscs && qdiscs->out.find("clsact") != std::string::npos;
  }

  StatusRequest statusRequest() const {
    StatusRequest request;
    request.stateDir = placement_.stateDir;
    return request;
  }
  StatusReport status() {
    auto report = loader_->status(statusRequest());
    EXPECT_TRUE(report) << report.error();
    return report ? *report : StatusReport{};
  }

  // A load in a child process that stops itself at `step` (as with
  // POLC_LOADER_PAUSE_AT) and is killed there with SIGKILL.
  void loadKilledAt(const std::string& step) {
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::setenv("POLC_LOADER_PAUSE_AT", step.c_str(), 1);
      auto loaded = makeKernelLoader()->load(request());
      ::_exit(loaded ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, WUNTRACED), child);
    EXPECT_TRUE(WIFSTOPPED(status)) << "the load did not stop at " << step;
    ::kill(child, SIGKILL);
    ::waitpid(child, &status, 0);
  }

  bool aReachesB(uint16_t port) {
    return polc::testing::tcpConnects(endpointNs("a"), endpointNs("b"), "10.77.1.11", port,
                                      kBlockedTimeoutMs);
  }

  std::string prefix_;
  Placement placement_;
  fs::path outDir_;
  std::unique_ptr<Loader> loader_ = makeKernelLoader();
};

TEST_F(LoaderTest, LoadAttachesProgramsAndFillsMaps) {
  OutDirWriter(outDir_).write({.bIngress = {denyTcpFrom(kIdentityA, 9001, 7)}});
  ASSERT_TRUE(
      polc::testing::tcpConnects(endpointNs("a"), endpointNs("b"), "10.77.1.11", 9001, kTimeoutMs))
      << "the lab itself does not pass traffic";

  auto loaded = loader_->load(request());
  ASSERT_TRUE(loaded) << loaded.error();
  EXPECT_EQ(loaded->node, "n1");
  ASSERT_EQ(loaded->attached.size(), 4u);
  EXPECT_EQ(loaded->ipcacheEntries, 2u);
  EXPECT_EQ(loaded->policyEntries, 1u);

  for (const auto& attached : loaded->attached) {
    auto program = attachedProgram(attached.interface, attached.hook);
    ASSERT_TRUE(program) << attached.interface << " " << attached.hook << " has no polc filter";
    EXPECT_EQ(*program, attached.programId);
    EXPECT_TRUE(fs::exists(pin("n1/" + attached.endpoint + "/" + attached.program)));
  }
  EXPECT_TRUE(hasClsact("lxc-a"));

  auto ipcacheKeys = pinnedMapKeys<polc_ipcache_key>(pin("n1/polc_ipcache"));
  std::set<uint32_t> ipcacheAddresses;
  for (const auto& key : ipcacheKeys) ipcacheAddresses.insert(ntohl(key.addr[0]));
  EXPECT_EQ(ipcacheAddresses, (std::set<uint32_t>{0x0a4d010a, 0x0a4d010b}));
  // The ipcache's prefix lengths are listed for the datapath's probes.
  polc_ipcache_lengths lengths{};
  const uint32_t zero = 0;
  UniqueFd lengthsFd(bpf_obj_get(pin("n1/polc_ipcache_lengths").c_str()));
  ASSERT_EQ(bpf_map_lookup_elem(lengthsFd.get(), &zero, &lengths), 0);
  EXPECT_EQ(lengths.v4_count, 1);
  EXPECT_EQ(lengths.v4[0], 32);
  EXPECT_EQ(lengths.v6_count, 0);
  EXPECT_EQ(policyIdentityPorts(pin("n1/b/polc_policy_in")),
            (std::set<std::pair<uint32_t, uint16_t>>{{kIdentityA, 9001}}));
  EXPECT_TRUE(policyIdentityPorts(pin("n1/b/polc_policy_eg")).empty());
  EXPECT_TRUE(fs::exists(pin("n1/polc_ct")));
  EXPECT_TRUE(fs::exists(placement_.stateDir / "n1.json"));

  // The deny entry is enforced by the attached program; other ports pass.
  EXPECT_FALSE(aReachesB(9001)) << "denied port passed";
  EXPECT_TRUE(aReachesB(9002)) << "allowed port blocked";
}

TEST_F(LoaderTest, TableOnlyReloadUpdatesMapsInPlaceAndKeepsProgramsAndConntrack) {
  OutDirWriter(outDir_).write({.bIngress = {denyTcpFrom(kIdentityA, 9001, 7)}});
  auto first = loader_->load(request());
  ASSERT_TRUE(first) << first.error();
  auto conntrackId = pinnedMapId(pin("n1/polc_ct"));
  auto policyId = pinnedMapId(pin("n1/b/polc_policy_in"));
  ASSERT_NE(conntrackId, 0u);
  auto programB = attachedProgram("lxc-b", "tc-egress");

  OutDirWriter(outDir_).write(
      {.bIngress = {denyTcpFrom(kIdentityA, 9002, 8), denyTcpFrom(kIdentityA, 9003, 9)}});
  const auto epoch = policyEpoch(pin("n1/polc_epoch"));
  ASSERT_TRUE(epoch);
  auto second = loader_->load(request());
  ASSERT_TRUE(second) << second.error();
  EXPECT_EQ(pinnedMapId(pin("n1/polc_ct")), conntrackId);
  EXPECT_EQ(pinnedMapId(pin("n1/b/polc_policy_in")), policyId);
  // Established flows are judged again under the new table.
  EXPECT_EQ(policyEpoch(pin("n1/polc_epoch")), *epoch + 1);
  EXPECT_EQ(policyIdentityPorts(pin("n1/b/polc_policy_in")),
            (std::set<std::pair<uint32_t, uint16_t>>{{kIdentityA, 9002}, {kIdentityA, 9003}}));

  // The same programs stay attached; the report says what changed.
  EXPECT_TRUE(second->attached.empty());
  EXPECT_EQ(attachedProgram("lxc-b", "tc-egress"), programB);
  ASSERT_EQ(second->endpoints.size(), 2u);
  EXPECT_EQ(second->endpoints[0].action, EndpointAction::Unchanged);
  EXPECT_EQ(second->endpoints[1].action, EndpointAction::TablesUpdated);
  EXPECT_EQ(second->endpoints[1].ingress, (TableChange{2, 1, 0}));
  EXPECT_TRUE(status().inSync());
  EXPECT_TRUE(aReachesB(9001));
  EXPECT_FALSE(aReachesB(9002));
}

// A table-only change is found by comparing the new files with the texts
// kept at the last load, line by line: only the entries that differ are
// written, and the maps are not read back (an entry planted behind polc's
// back survives, as with an unchanged table). Without its kept text (here
// damaged) a load reads the whole table and map again, and repairs it.
TEST_F(LoaderTest, TableOnlyReloadWritesOnlyTheDeltaFromTheKeptText) {
  OutDirWriter(outDir_).write({.bIngress = {denyTcpFrom(kIdentityA, 9001, 7)}});
  auto first = loader_->load(request());
  ASSERT_TRUE(first) << first.error();
  EXPECT_EQ(first->tablesDiffed, 0u);
  const auto kept = placement_.stateDir / "n1.tables";
  ASSERT_TRUE(fs::is_directory(kept));
  {
    UniqueFd map(bpf_obj_get(pin("n1/b/polc_policy_in").c_str()));
    ASSERT_TRUE(map.valid());
    artifacts::PolicyTable stray;
    stray.entries = {denyTcpFrom(kIdentityB, 9009, 3)};
    auto entries = maps::toPolicyMapEntries(stray);
    ASSERT_EQ(bpf_map_update_elem(map.get(), &entries[0].first, &entries[0].second, BPF_ANY), 0);
  }

  OutDirWriter(outDir_).write(
      {.bIngress = {denyTcpFrom(kIdentityA, 9001, 7), denyTcpFrom(kIdentityA, 9002, 8)},
       .moreIpcache = {{4, "10.77.2.0", 24, kIdentityB}}});
  auto delta = loader_->load(request());
  ASSERT_TRUE(delta) << delta.error();
  EXPECT_EQ(delta->tablesDiffed, 2u); // b's ingress and the ipcache
  EXPECT_EQ(delta->endpoints[1].ingress, (TableChange{1, 0, 0}));
  EXPECT_EQ(delta->endpoints[1].entries, 2u);
  EXPECT_EQ(delta->ipcache, (TableChange{1, 0, 0}));
  EXPECT_EQ(delta->ipcacheEntries, 3u);
  EXPECT_EQ(policyIdentityPorts(pin("n1/b/polc_policy_in")),
            (std::set<std::pair<uint32_t, uint16_t>>{
                {kIdentityA, 9001}, {kIdentityA, 9002}, {kIdentityB, 9009}}));
  // The new prefix length is listed for the datapath's probes.
  polc_ipcache_lengths lengths{};
  const uint32_t zero = 0;
  UniqueFd lengthsFd(bpf_obj_get(pin("n1/polc_ipcache_lengths").c_str()));
  ASSERT_EQ(bpf_map_lookup_elem(lengthsFd.get(), &zero, &lengths), 0);
  ASSERT_EQ(lengths.v4_count, 2);
  EXPECT_EQ(lengths.v4[0], 32);
  EXPECT_EQ(lengths.v4[1], 24);
  EXPECT_FALSE(aReachesB(9002));

  // Back to the first revision, with every kept text damaged.
  for (const auto& file : fs::directory_iterator(kept)) {
    std::fstream damaged(file.path(), std::ios::in | std::ios::out);
    damaged.seekp(10);
    damaged.put('#');
  }
  OutDirWriter(outDir_).write({.bIngress = {denyTcpFrom(kIdentityA, 9001, 7)}});
  auto full = loader_->load(request());
  ASSERT_TRUE(full) << full.error();
  EXPECT_EQ(full->tablesDiffed, 0u);
  EXPECT_EQ(full->endpoints[1].ingress, (TableChange{0, 2, 0})); // 9002 and the stray
  EXPECT_EQ(full->ipcache, (TableChange{0, 1, 0}));
  EXPECT_EQ(policyIdentityPorts(pin("n1/b/polc_policy_in")),
            (std::set<std::pair<uint32_t, uint16_t>>{{kIdentityA, 9001}}));
  UniqueFd lengthsAgain(bpf_obj_get(pin("n1/polc_ipcache_lengths").c_str()));
  ASSERT_EQ(bpf_map_lookup_elem(lengthsAgain.get(), &zero, &lengths), 0);
  EXPECT_EQ(lengths.v4_count, 1);
  EXPECT_TRUE(aReachesB(9002));
  EXPECT_TRUE(status().inSync()) << joined(status().nodes[0].drift);

  // Unload removes the kept texts with the state.
  ASSERT_TRUE(loader_->unload({"", placement_}));
  EXPECT_FALSE(fs::exists(kept));
}

// An endpoint whose table file is the one its map was filled from is neither
// parsed nor read back; a load that was interrupted (its journal left)
// makes the next one read every map, since it may have written some half way.
TEST_F(LoaderTest, InterruptedLoadMakesTheNextOneCheckEveryTable) {
  OutDirWriter(outDir_).write({.bIngress = {denyTcpFrom(kIdentityA, 9001, 7)}});
  ASSERT_TRUE(loader_->load(request()));
  // What a killed in-place update could have left: an entry of no revision.
  {
    UniqueFd map(bpf_obj_get(pin("n1/a/polc_policy_in").c_str()));
    ASSERT_TRUE(map.valid());
    artifacts::PolicyTable stray;
    stray.entries = {denyTcpFrom(kIdentityB, 9009, 3)};
    auto entries = maps::toPolicyMapEntries(stray);
    ASSERT_EQ(entries.size(), 1u);
    ASSERT_EQ(bpf_map_update_elem(map.get(), &entries[0].first, &entries[0].second, BPF_ANY), 0);
  }
  ASSERT_TRUE(runtime::writePendingLoad(placement_.stateDir, "n1",
                                        {"killed", outDir_.string(), "switching", {}}));

  auto reload = loader_->load(request());
  ASSERT_TRUE(reload) << reload.error();
  ASSERT_EQ(reload->endpoints.size(), 2u);
  EXPECT_EQ(reload->endpoints[0].action, EndpointAction::TablesUpdated);
  EXPECT_EQ(reload->endpoints[0].ingress, (TableChange{0, 1, 0}));
  EXPECT_EQ(reload->endpoints[1].action, EndpointAction::Unchanged);
  EXPECT_TRUE(policyIdentityPorts(pin("n1/a/polc_policy_in")).empty());
  EXPECT_FALSE(fs::exists(runtime::pendingFile(placement_.stateDir, "n1")));

  // Nothing interrupted now: the same build again reads no table.
  auto again = loader_->load(request());
  ASSERT_TRUE(again) << again.error();
  for (const auto& endpoint : again->endpoints)
    EXPECT_EQ(endpoint.action, EndpointAction::Unchanged) << endpoint.endpoint;
  EXPECT_EQ(again->policyEntries, 1u);
  EXPECT_TRUE(status().inSync()) << joined(status().nodes[0].drift);
}

// The ipcache is treated as the tables: not read back while its file has
// the recorded digest, read and repaired after an interrupted load.
TEST_F(LoaderTest, UnchangedIpcacheIsReadAgainOnlyAfterAnInterruptedLoad) {
  OutDirWriter(outDir_).write({});
  ASSERT_TRUE(loader_->load(request()));
  {
    UniqueFd map(bpf_obj_get(pin("n1/polc_ipcache").c_str()));
    ASSERT_TRUE(map.valid());
    artifacts::Ipcache stray;
    stray.entries = {{4, "10.77.9.9", 32, kIdentityB}};
    auto entries = maps::toIpcacheMapEntries(stray);
    ASSERT_TRUE(entries && entries->size() == 1u);
    ASSERT_EQ(bpf_map_update_elem(map.get(), &(*entries)[0].first, &(*entries)[0].second, BPF_ANY),
              0);
  }
  auto same = loader_->load(request());
  ASSERT_TRUE(same) << same.error();
  EXPECT_TRUE(same->ipcache.none());
  EXPECT_EQ(same->ipcacheEntries, 2u);
  EXPECT_EQ(pinnedMapKeys<polc_ipcache_key>(pin("n1/polc_ipcache")).size(), 3u);

  ASSERT_TRUE(runtime::writePendingLoad(placement_.stateDir, "n1",
                                        {"killed", outDir_.string(), "switching", {}}));
  auto repaired = loader_->load(request());
  ASSERT_TRUE(repaired) << repaired.error();
  EXPECT_EQ(repaired->ipcache, (TableChange{0, 1, 0}));
  EXPECT_EQ(pinnedMapKeys<polc_ipcache_key>(pin("n1/polc_ipcache")).size(), 2u);
}

TEST_F(LoaderTest, ProgramChangeSwapsInNewProgramsWithFreshPolicyMaps) {
  OutDirWriter(outDir_).write({.bIngress = {denyTcpFrom(kIdentityA, 9001, 7)}});
  ASSERT_TRUE(loader_->load(request()));
  auto conntrackId = pinnedMapId(pin("n1/polc_ct"));
  auto policyId = pinnedMapId(pin("n1/b/polc_policy_in"));
  auto programB = attachedProgram("lxc-b", "tc-egress");

  OutDirWriter(outDir_).write(
      {.bIngress = {denyTcpFrom(kIdentityA, 9002, 8)}, .bIdentity = kIdentityB + 1});
  auto second = loader_->load(request());
  ASSERT_TRUE(second) << second.error();
  ASSERT_EQ(second->endpoints.size(), 2u);
  EXPECT_EQ(second->endpoints[0].action, EndpointAction::Unchanged);
  EXPECT_EQ(second->endpoints[1].action, EndpointAction::Replaced);
  EXPECT_EQ(second->endpoints[1].ingress, (TableChange{1, 1, 0}));
  ASSERT_EQ(second->attached.size(), 2u);
  for (const auto& attached : second->attached)
    EXPECT_EQ(attachedProgram(attached.interface, attached.hook), attached.programId);
  EXPECT_NE(attachedProgram("lxc-b", "tc-egress"), programB);
  EXPECT_EQ(pinnedMapId(pin("n1/polc_ct")), conntrackId);
  EXPECT_NE(pinnedMapId(pin("n1/b/polc_policy_in")), policyId);
  EXPECT_FALSE(fs::exists(pin("n1/b/polc_policy_in-next")));
  EXPECT_TRUE(status().inSync()) << joined(status().nodes[0].drift);
  EXPECT_TRUE(aReachesB(9001));
  EXPECT_FALSE(aReachesB(9002));
}

// A real failure, not an injected one: a table larger than the map. Filling
// fresh maps (programs change) fails while preparing; updating in place
// (same programs) fails in the switch and is undone.
// Policy maps are hashes sized from their tables; a table that outgrows its
// live map (old and new entries must fit at once: an in-place update adds
// before it deletes) takes fresh maps and programs instead of failing.
TEST_F(LoaderTest, TableThatOutgrowsItsMapTakesFreshMaps) {
  OutDirWriter(outDir_).write({.bIngress = {denyTcpFrom(kIdentityA, 9001, 7)}});
  ASSERT_TRUE(loader_->load(request()));
  const auto policyPin = pin("n1/b/polc_policy_in");
  auto capacityOf = [](const fs::path& path) {
    UniqueFd fd(bpf_obj_get(path.c_str()));
    auto capacity = maps::kernelMaps().capacity(fd.get(), path.string());
    return capacity ? *capacity : 0u;
  };
  EXPECT_EQ(capacityOf(policyPin), maps::kPolicyMapMinEntries);
  auto policyId = pinnedMapId(policyPin);
  auto programB = attachedProgram("lxc-b", "tc-egress");

  auto denies = [](uint16_t count) {
    std::vector<artifacts::PolicyEntry> entries;
    for (uint16_t i = 0; i < count; ++i) entries.push_back(denyTcpFrom(kIdentityA, 9100 + i, i));
    return entries;
  };
  OutDirWriter(outDir_).write({.bIngress = denies(100)});
  auto grown = loader_->load(request());
  ASSERT_TRUE(grown) << grown.error();
  ASSERT_EQ(grown->endpoints.size(), 2u);
  EXPECT_EQ(grown->endpoints[1].action, EndpointAction::Replaced);
  EXPECT_NE(pinnedMapId(policyPin), policyId);
  EXPECT_NE(attachedProgram("lxc-b", "tc-egress"), programB);
  EXPECT_EQ(capacityOf(policyPin), 256u);
  EXPECT_EQ(policyIdentityPorts(policyPin).size(), 100u);
  EXPECT_TRUE(status().inSync()) << joined(status().nodes[0].drift);
  EXPECT_TRUE(aReachesB(9001));
  EXPECT_FALSE(aReachesB(9150));

  // Within the new capacity the next change is in place again.
  policyId = pinnedMapId(policyPin);
  OutDirWriter(outDir_).write({.bIngress = denies(120)});
  auto updated = loader_->load(request());
  ASSERT_TRUE(updated) << updated.error();
  EXPECT_EQ(updated->endpoints[1].action, EndpointAction::TablesUpdated);
  EXPECT_EQ(pinnedMapId(policyPin), policyId);
  EXPECT_EQ(policyIdentityPorts(policyPin).size(), 120u);
  EXPECT_FALSE(aReachesB(9215));
}

TEST_F(LoaderTest, MapFullLeavesThePreviousRevisionInForce) {
  OutDirWriter(outDir_).write({.bIngress = {denyTcpFrom(kIdentityA, 9001, 7)}});
  ASSERT_TRUE(loader_->load(request()));
  auto programB = attachedProgram("lxc-b", "tc-egress");
  std::vector<artifacts::PolicyEntry> tooMany;
  for (uint32_t i = 0; i <= POLC_POLICY_MAX_ENTRIES; ++i)
    tooMany.push_back(denyTcpFrom(kIdentityA + 1000 + i, 9002, i));
  for (uint32_t identity : {kIdentityB, kIdentityB + 1}) { // in place, then fresh maps
    SCOPED_TRACE(identity == kIdentityB ? "in place" : "fresh maps");
    OutDirWriter(outDir_).write({.bIngress = tooMany, .bIdentity = identity});
    auto failed = loader_->load(request());
    ASSERT_FALSE(failed);
    EXPECT_NE(failed.error().find("is still in force"), std::string::npos) << failed.error();
    EXPECT_EQ(attachedProgram("lxc-b", "tc-egress"), programB);
    EXPECT_EQ(policyIdentityPorts(pin("n1/b/polc_policy_in")),
              (std::set<std::pair<uint32_t, uint16_t>>{{kIdentityA, 9001}}));
    EXPECT_TRUE(status().inSync()) << joined(status().nodes[0].drift);
    EXPECT_FALSE(aReachesB(9001));
  }
}

TEST_F(LoaderTest, VerifierRejectionLeavesThePreviousRevisionInForce) {
  OutDirWriter(outDir_).write({.bIngress = {denyTcpFrom(kIdentityA, 9001, 7)}});
  ASSERT_TRUE(loader_->load(request()));
  auto programA = attachedProgram("lxc-a", "tc-ingress");
  auto programB = attachedProgram("lxc-b", "tc-egress");
  OutDirWriter(outDir_).write({.bIngress = {denyTcpFrom(kIdentityA, 9002, 8)}, .bRejected = true});
  auto failed = loader_->load(request());
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().find("is still in force: endpoint b: loading"), std::string::npos)
      << failed.error();
  EXPECT_EQ(attachedProgram("lxc-a", "tc-ingress"), programA);
  EXPECT_EQ(attachedProgram("lxc-b", "tc-egress"), programB);
  EXPECT_EQ(policyIdentityPorts(pin("n1/b/polc_policy_in")),
            (std::set<std::pair<uint32_t, uint16_t>>{{kIdentityA, 9001}}));
  EXPECT_FALSE(fs::exists(pin("n1/b/polc_policy_in-next")));
  EXPECT_TRUE(status().inSync()) << joined(status().nodes[0].drift);
  EXPECT_FALSE(aReachesB(9001));
  EXPECT_TRUE(aReachesB(9002));
}
TEST_F(LoaderTest, FailureAtEveryStepLeavesThePreviousRevisionInForce) {
  OutDirWriter(outDir_).write({.bIngress = {denyTcpFrom(kIdentityA, 9001, 7)}});
  ASSERT_TRUE(loader_->load(request()));
  auto programA = attachedProgram("lxc-a", "tc-ingress");
  auto programB = attachedProgram("lxc-b", "tc-egress");
  auto policyId = pinnedMapId(pin("n1/b/polc_policy_in"));
  // The next revision changes b's programs and table, and drops a.
  OutDirWriter(outDir_).write({.bIngress = {denyTcpFrom(kIdentityA, 9002, 8)},
                               .endpoints = {"b"},
                               .bIdentity = kIdentityB + 1});
  bool switching = false;
  for (auto step : runtime::kLoadSteps) {
    SCOPED_TRACE(std::string(step));
    const auto epoch = policyEpoch(pin("n1/polc_epoch"));
    ASSERT_TRUE(epoch);
    ::setenv("POLC_LOADER_FAIL_AT", std::string(step).c_str(), 1);
    auto failed = loader_->load(request());
    ::unsetenv("POLC_LOADER_FAIL_AT");
    ASSERT_FALSE(failed);
    // A failure once the switch began may have let flows be judged under
    // the new tables: the rollback makes them be judged again.
    switching = switching || step == "update-ipcache";
    const auto after = policyEpoch(pin("n1/polc_epoch"));
    ASSERT_TRUE(after);
    if (switching)
      EXPECT_GT(*after, *epoch);
    else
      EXPECT_EQ(*after, *epoch);
    EXPECT_NE(failed.error().find("injected failure at step " + std::string(step)),
              std::string::npos)
        << failed.error();
    EXPECT_EQ(attachedProgram("lxc-a", "tc-ingress"), programA);
    EXPECT_EQ(attachedProgram("lxc-b", "tc-egress"), programB);
    EXPECT_EQ(pinnedMapId(pin("n1/b/polc_policy_in")), policyId);
    EXPECT_EQ(policyIdentityPorts(pin("n1/b/polc_policy_in")),
              (std::set<std::pair<uint32_t, uint16_t>>{{kIdentityA, 9001}}));
    EXPECT_FALSE(fs::exists(pin("n1/b/polc_to_ep-next")));
    auto report = status();
    EXPECT_TRUE(report.inSync()) << joined(report.nodes.empty() ? std::vector<std::string>{}
                                                                : report.nodes[0].drift);
  }
  EXPECT_FALSE(aReachesB(9001));
  EXPECT_TRUE(aReachesB(9002));
  auto loaded = loader_->load(request());
  ASSERT_TRUE(loaded) << loaded.error();
  EXPECT_FALSE(attachedProgram("lxc-a", "tc-ingress"));
  EXPECT_TRUE(aReachesB(9001));
  EXPECT_FALSE(aReachesB(9002));
}

TEST_F(LoaderTest, TamperedArtifactsAreRefusedBeforeTheKernelIsTouched) {
  OutDirWriter(outDir_).write({.bIngress = {denyTcpFrom(kIdentityA, 9001, 7)}});
  // Tampered before any load: nothing pinned, nothing attached, no state.
  {
    std::ofstream(outDir_ / "endpoints/b/ingress.json", std::ios::app) << " ";
    auto refused = loader_->load(request());
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().find("endpoints/b/ingress.json: digest mismatch"), std::string::npos)
        << refused.error();
    EXPECT_FALSE(fs::exists(placement_.pinRoot));
    EXPECT_FALSE(fs::exists(placement_.stateDir / "n1.json"));
    EXPECT_FALSE(attachedProgram("lxc-b", "tc-egress"));
    EXPECT_FALSE(hasClsact("lxc-b"));
  }

  // Tampered over a loaded policy: the loaded one stays exactly as it was.
  OutDirWriter(outDir_).write({.bIngress = {denyTcpFrom(kIdentityA, 9001, 7)}});
  auto loaded = loader_->load(request());
  ASSERT_TRUE(loaded) << loaded.error();
  auto programBefore = attachedProgram("lxc-b", "tc-egress");
  OutDirWriter(outDir_).write({.bIngress = {denyTcpFrom(kIdentityA, 9002, 8)}});
  fs::remove(outDir_ / "objects/fixture.o");
  auto refused = loader_->load(request());
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("objects/fixture.o: missing"), std::string::npos)
      << refused.error();
  EXPECT_EQ(attachedProgram("lxc-b", "tc-egress"), programBefore);
  EXPECT_EQ(policyIdentityPorts(pin("n1/b/polc_policy_in")),
            (std::set<std::pair<uint32_t, uint16_t>>{{kIdentityA, 9001}}));
}

TEST_F(LoaderTest, UnloadRemovesFiltersQdiscsPinsAndState) {
  OutDirWriter(outDir_).write({.bIngress = {denyTcpFrom(kIdentityA, 9001, 7)}});
  auto loaded = loader_->load(request());
  ASSERT_TRUE(loaded) << loaded.error();

  auto unloaded = loader_->unload({"", placement_});
  ASSERT_TRUE(unloaded) << unloaded.error();
  EXPECT_EQ(unloaded->detached.size(), 4u);
  // the node's maps (artifacts::kNodeMaps); per endpoint 2 maps + 2 programs
  EXPECT_EQ(unloaded->pinsRemoved, artifacts::kNodeMaps.size() + 2 * 4u);
  for (const auto& attached : loaded->attached)
    EXPECT_FALSE(attachedProgram(attached.interface, attached.hook));
  EXPECT_FALSE(hasClsact("lxc-a"));
  EXPECT_FALSE(hasClsact("lxc-b"));
  EXPECT_FALSE(fs::exists(placement_.pinRoot));
  EXPECT_FALSE(fs::exists(placement_.stateDir / "n1.json"));
  EXPECT_TRUE(aReachesB(9001)) << "traffic still filtered after unload";

  auto again = loader_->unload({"", placement_});
  ASSERT_TRUE(again) << again.error();
  EXPECT_TRUE(again->detached.empty());
}

TEST_F(LoaderTest, UnloadAfterTheLabIsGoneIsNotAnError) {
  OutDirWriter(outDir_).write({});
  ASSERT_TRUE(loader_->load(request()));
  ASSERT_TRUE(lab::down({.prefix = prefix_}));
  auto unloaded = loader_->unload({"n1", placement_});
  ASSERT_TRUE(unloaded) << unloaded.error();
  EXPECT_TRUE(unloaded->detached.empty());
  EXPECT_FALSE(fs::exists(placement_.pinRoot));
  EXPECT_FALSE(fs::exists(placement_.stateDir / "n1.json"));
}

TEST_F(LoaderTest, QdiscThatPolcDidNotCreateIsLeftInPlace) {
  ASSERT_TRUE(runChecked({"tc", "-n", placement_.netns, "qdisc", "add", "dev", "lxc-a", "clsact"}));
  OutDirWriter(outDir_).write({});
  ASSERT_TRUE(loader_->load(request()));
  ASSERT_TRUE(loader_->load(request())); // a reload must not forget whose qdisc it is
  ASSERT_TRUE(loader_->unload({"", placement_}));
  EXPECT_TRUE(hasClsact("lxc-a"));
  EXPECT_FALSE(hasClsact("lxc-b"));
  EXPECT_FALSE(attachedProgram("lxc-a", "tc-ingress"));
}

// A load killed once it attached (a first load, or a reload attaching a hook
// the committed revision does not have) leaves its journal, which names
// every hook it attached: status shows them, unload and the next load of
// another revision remove them with their qdiscs.
TEST_F(LoaderTest, FirstLoadKilledAtAttachOrCommitIsUndoneByUnload) {
  OutDirWriter(outDir_).write({});
  for (const char* step : {"attach", "commit"}) {
    SCOPED_TRACE(step);
    loadKilledAt(step);
    ASSERT_TRUE(attachedProgram("lxc-a", "tc-ingress")) << "the killed load attached nothing";
    auto report = status();
    ASSERT_EQ(report.nodes.size(), 1u);
    EXPECT_FALSE(report.inSync());
    EXPECT_GE(report.nodes[0].unrecordedFilters.size(), 2u) << joined(report.nodes[0].drift);

    auto unloaded = loader_->unload({"", placement_});
    ASSERT_TRUE(unloaded) << unloaded.error();
    EXPECT_GE(unloaded->detached.size(), 2u);
    for (const auto* interface : {"lxc-a", "lxc-b"}) {
      EXPECT_FALSE(attachedProgram(interface, "tc-ingress")) << interface;
      EXPECT_FALSE(attachedProgram(interface, "tc-egress")) << interface;
      EXPECT_FALSE(hasClsact(interface)) << interface;
    }
    EXPECT_FALSE(fs::exists(placement_.pinRoot));
    EXPECT_TRUE(status().nodes.empty());
  }
}

TEST_F(LoaderTest, HooksOfAKilledReloadAreDetachedByTheNextLoad) {
  for (const char* step : {"detach-stale", "commit"}) {
    SCOPED_TRACE(step);
    OutDirWriter(outDir_).write({.endpoints = {"a"}});
    ASSERT_TRUE(loader_->load(request()));
    OutDirWriter(outDir_).write({}); // adds b
    loadKilledAt(step);
    ASSERT_TRUE(attachedProgram("lxc-b", "tc-egress")) << "the killed load did not attach b";

    OutDirWriter(outDir_).write({.endpoints = {"a"}});
    auto loaded = loader_->load(request());
    ASSERT_TRUE(loaded) << loaded.error();
    EXPECT_FALSE(attachedProgram("lxc-b", "tc-ingress"));
    EXPECT_FALSE(attachedProgram("lxc-b", "tc-egress"));
    EXPECT_FALSE(hasClsact("lxc-b"));
    EXPECT_TRUE(attachedProgram("lxc-a", "tc-ingress"));
    EXPECT_TRUE(status().inSync()) << joined(status().nodes[0].drift);
  }
}

// A load that fails after a killed one puts the killed one's journal back:
// its hooks may still be attached (here b's qdisc, which only a commit
// removes) and its maps were restored half written.
TEST_F(LoaderTest, FailedLoadAfterAKilledOneKeepsTheKilledOnesJournal) {
  OutDirWriter(outDir_).write({.endpoints = {"a"}});
  ASSERT_TRUE(loader_->load(request()));
  OutDirWriter(outDir_).write({});
  loadKilledAt("commit");
  OutDirWriter(outDir_).write({.endpoints = {"a"}});
  ::setenv("POLC_LOADER_FAIL_AT", "detach-stale", 1);
  auto failed = loader_->load(request());
  ::unsetenv("POLC_LOADER_FAIL_AT");
  ASSERT_FALSE(failed);
  EXPECT_TRUE(fs::exists(runtime::pendingFile(placement_.stateDir, "n1")));
  EXPECT_FALSE(status().inSync());

  ASSERT_TRUE(loader_->unload({"", placement_}));
  EXPECT_FALSE(attachedProgram("lxc-b", "tc-egress"));
  EXPECT_FALSE(hasClsact("lxc-b"));
  EXPECT_FALSE(hasClsact("lxc-a"));
}

// A state dir on a full file system: the state, the journal, or the
// journal of the switch cannot be written (tmpfs pages: 1, 2, 3). Each time
// the load fails before anything is switched and leaves no file behind;
// with space again, everything works.
TEST_F(LoaderTest, FullStateDirFailsTheLoadBeforeTheSwitch) {
  OutDirWriter(outDir_).write({});
  fs::create_directories(placement_.stateDir);
  for (const char* size : {"size=4k", "size=8k", "size=12k"}) {
    SCOPED_TRACE(size);
    {
      TmpfsMount full(placement_.stateDir, size);
      ASSERT_TRUE(full.mounted()) << std::strerror(errno);
      auto failed = loader_->load(request());
      ASSERT_FALSE(failed);
      EXPECT_NE(failed.error().find("No space left on device"), std::string::npos)
          << failed.error();
      EXPECT_FALSE(attachedProgram("lxc-a", "tc-ingress"));
      EXPECT_FALSE(hasClsact("lxc-a"));
      EXPECT_FALSE(fs::exists(placement_.pinRoot / "n1"));
      for (const auto& entry : fs::directory_iterator(placement_.stateDir))
        EXPECT_EQ(entry.path().filename(), "lock");
      ASSERT_TRUE(full.remount("size=1m"));
      EXPECT_TRUE(status().nodes.empty());
      auto loaded = loader_->load(request());
      ASSERT_TRUE(loaded) << loaded.error();
      EXPECT_TRUE(status().inSync());
      ASSERT_TRUE(loader_->unload({"", placement_}));
    }
    EXPECT_FALSE(hasClsact("lxc-a"));
  }
}

// A state file that cannot be read: status shows what the kernel has (never
// "nothing loaded"); unload refuses; unload --force removes everything.
TEST_F(LoaderTest, UnreadableStateIsReportedAndRemovedByForce) {
  OutDirWriter(outDir_).write({});
  for (bool directory : {true, false}) {
    SCOPED_TRACE(directory ? "a directory" : "garbage");
    ASSERT_TRUE(loader_->load(request()));
    const auto file = runtime::stateFile(placement_.stateDir, "n1");
    fs::remove(file);
    if (directory)
      fs::create_directories(file);
    else
      std::ofstream(file) << "{\"node\": ";

    auto request = statusRequest();
    request.netns = placement_.netns;
    request.fallbackPinRoot = placement_.pinRoot;
    auto report = loader_->status(request);
    ASSERT_TRUE(report) << report.error();
    ASSERT_EQ(report->nodes.size(), 1u);
    const auto& node = report->nodes[0];
    EXPECT_TRUE(report->stateUnreadable());
    EXPECT_FALSE(report->inSync());
    EXPECT_NE(node.stateError.find(file.string()), std::string::npos) << node.stateError;
    EXPECT_EQ(node.unrecordedFilters.size(), 4u) << joined(node.drift);
    EXPECT_EQ(node.foundPins.size(), artifacts::kNodeMaps.size() + 2 * 4u) << joined(node.drift);

    auto refused = loader_->unload({"", placement_});
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().find("polc unload --force"), std::string::npos) << refused.error();
    EXPECT_TRUE(attachedProgram("lxc-a", "tc-ingress"));

    UnloadRequest force{"n1", placement_};
    force.force = true;
    force.netnsGiven = true;
    auto unloaded = loader_->unload(force);
    ASSERT_TRUE(unloaded) << unloaded.error();
    EXPECT_EQ(unloaded->detached.size(), 4u);
    EXPECT_EQ(unloaded->pinsRemoved, artifacts::kNodeMaps.size() + 2 * 4u);
    for (const auto* interface : {"lxc-a", "lxc-b"}) {
      EXPECT_FALSE(attachedProgram(interface, "tc-ingress")) << interface;
      EXPECT_FALSE(hasClsact(interface)) << interface;
    }
    EXPECT_FALSE(fs::exists(placement_.pinRoot));
    EXPECT_FALSE(fs::exists(file));
    EXPECT_TRUE(status().nodes.empty());
  }
}

// --force never removes a filter that is not polc's, nor a qdisc that holds one.
TEST_F(LoaderTest, UnloadForceLeavesOtherFiltersAlone) {
  OutDirWriter(outDir_).write({});
  ASSERT_TRUE(loader_->load(request()));
  { // another's filter: a BPF one too, at its own priority and handle
    UniqueFd program(bpf_obj_get(pin("n1/a/polc_from_ep").c_str()));
    ASSERT_TRUE(program.valid());
    auto netns = NetnsGuard::enter(placement_.netns);
    ASSERT_TRUE(netns) << netns.error();
    bpf_tc_hook hook{};
    hook.sz = sizeof hook;
    hook.ifindex = runtime::interfaceIndex("lxc-a").value();
    hook.attach_point = BPF_TC_INGRESS;
    bpf_tc_opts options{};
    options.sz = sizeof options;
    options.handle = 7;
    options.priority = 7;
    options.prog_fd = program.get();
    ASSERT_EQ(bpf_tc_attach(&hook, &options), 0);
  }
  std::ofstream(runtime::stateFile(placement_.stateDir, "n1")) << "garbage";
  UnloadRequest force{"n1", placement_};
  force.force = true;
  force.netnsGiven = true;
  ASSERT_TRUE(loader_->unload(force));
  EXPECT_FALSE(attachedProgram("lxc-a", "tc-ingress"));
  EXPECT_FALSE(hasClsact("lxc-b"));
  auto filters =
      runCommand({"tc", "-n", placement_.netns, "filter", "show", "dev", "lxc-a", "ingress"});
  ASSERT_TRUE(filters);
  EXPECT_NE(filters->out.find("pref 7 bpf"), std::string::npos) << filters->out;
  EXPECT_TRUE(hasClsact("lxc-a"));
}

TEST_F(LoaderTest, MissingInterfaceIsAClearErrorAndNothingIsLoaded) {
  OutDirWriter(outDir_).write({.bInterface = "lxc-zz"});
  auto refused = loader_->load(request());
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("endpoint b"), std::string::npos) << refused.error();
  EXPECT_NE(refused.error().find("lxc-zz"), std::string::npos) << refused.error();
  EXPECT_NE(refused.error().find("--netns"), std::string::npos)
      << "no way out: " << refused.error();
  EXPECT_FALSE(attachedProgram("lxc-a", "tc-ingress"))
      << "endpoint a was attached although b failed";
  EXPECT_FALSE(fs::exists(placement_.pinRoot / "n1"));
}

TEST_F(LoaderTest, EndpointDroppedOnReloadIsDetachedAndUnpinned) {
  OutDirWriter(outDir_).write({});
  ASSERT_TRUE(loader_->load(request()));
  OutDirWriter(outDir_).write({.endpoints = {"a"}});
  auto reloaded = loader_->load(request());
  ASSERT_TRUE(reloaded) << reloaded.error();
  EXPECT_TRUE(reloaded->attached.empty()); // a keeps its programs
  ASSERT_EQ(reloaded->endpoints.size(), 2u);
  EXPECT_EQ(reloaded->endpoints[0].action, EndpointAction::Unchanged);
  EXPECT_EQ(reloaded->endpoints[1].endpoint, "b");
  EXPECT_EQ(reloaded->endpoints[1].action, EndpointAction::Detached);
  EXPECT_FALSE(attachedProgram("lxc-b", "tc-egress"));
  EXPECT_FALSE(hasClsact("lxc-b"));
  EXPECT_FALSE(fs::exists(pin("n1/b")));
  EXPECT_TRUE(attachedProgram("lxc-a", "tc-ingress"));
}

TEST_F(LoaderTest, SeveralNodesNeedAChoice) {
  OutDirWriter(outDir_).write({});
  auto text = polc::readFile(outDir_ / "manifest.json");
  ASSERT_TRUE(text);
  auto manifest = artifacts::manifestFromJson(nlohmann::json::parse(*text));
  ASSERT_TRUE(manifest) << manifest.error();
  auto second = manifest->nodes.front();
  second.name = "n2";
  manifest->nodes.push_back(second);
  ASSERT_TRUE(polc::writeFile(outDir_ / "manifest.json",
                              artifacts::dumpJson(artifacts::toJson(*manifest))));

  auto refused = loader_->load(request());
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("n1, n2"), std::string::npos) << refused.error();
  auto unknown = loader_->load({outDir_, "n9", placement_});
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().find("n9"), std::string::npos) << unknown.error();
  auto chosen = loader_->load({outDir_, "n1", placement_});
  ASSERT_TRUE(chosen) << chosen.error();
}

bool mentions(const std::vector<std::string>& drift, const std::string& text) {
  return std::any_of(drift.begin(), drift.end(),
                     [&](const auto& line) { return line.find(text) != std::string::npos; });
}

TEST_F(LoaderTest, StatusShowsProgramsRevisionAndTableFill) {
  EXPECT_TRUE(status().nodes.empty()) << "status before any load";
  OutDirWriter(outDir_).write({.bIngress = {denyTcpFrom(kIdentityA, 9001, 7)}});
  auto loaded = loader_->load(request());
  ASSERT_TRUE(loaded) << loaded.error();

  auto report = status();
  ASSERT_EQ(report.nodes.size(), 1u);
  const auto& node = report.nodes[0];
  EXPECT_TRUE(report.inSync()) << joined(node.drift);
  EXPECT_EQ(node.node, "n1");
  EXPECT_EQ(node.netns, placement_.netns);
  EXPECT_EQ(node.revision, artifacts::sha256OfFile(outDir_ / "manifest.json").value());
  EXPECT_EQ(fs::path(node.outDir), fs::absolute(outDir_).lexically_normal());

  ASSERT_EQ(node.maps.size(), 2u);
  EXPECT_EQ(node.maps[0].map, "polc_ipcache");
  EXPECT_TRUE(node.maps[0].pinned);
  EXPECT_EQ(node.maps[0].entries, 2u);
  EXPECT_EQ(node.maps[0].loadedEntries, 2u);
  EXPECT_GT(node.maps[0].capacity, 2u);
  EXPECT_EQ(node.maps[1].map, "polc_ct");
  EXPECT_FALSE(node.maps[1].loadedEntries) << "conntrack changes with traffic";

  ASSERT_EQ(node.endpoints.size(), 2u);
  for (const auto& endpoint : node.endpoints) {
    EXPECT_EQ(endpoint.interface, "lxc-" + endpoint.endpoint);
    ASSERT_EQ(endpoint.programs.size(), 2u);
    for (const auto& program : endpoint.programs) {
      EXPECT_NE(program.recordedId, 0u);
      EXPECT_EQ(program.attachedId, program.recordedId) << endpoint.endpoint << " " << program.hook;
      EXPECT_EQ(program.pinnedId, program.recordedId);
      EXPECT_EQ(program.attachedName, program.program);
    }
    ASSERT_EQ(endpoint.maps.size(), 2u);
    EXPECT_EQ(endpoint.maps[0].map, "polc_policy_in");
    EXPECT_EQ(endpoint.maps[0].entries, endpoint.endpoint == "b" ? 1u : 0u);
    EXPECT_EQ(endpoint.maps[1].map, "polc_policy_eg");
    EXPECT_EQ(endpoint.maps[1].entries, 0u);
  }

  // A reload of another build is another revision.
  OutDirWriter(outDir_).write(
      {.bIngress = {denyTcpFrom(kIdentityA, 9002, 8), denyTcpFrom(kIdentityA, 9003, 9)}});
  ASSERT_TRUE(loader_->load(request()));
  auto reloaded = status();
  ASSERT_EQ(reloaded.nodes.size(), 1u);
  EXPECT_NE(reloaded.nodes[0].revision, node.revision);
  EXPECT_TRUE(reloaded.inSync()) << joined(reloaded.nodes[0].drift);
  EXPECT_EQ(reloaded.nodes[0].endpoints[1].maps[0].entries, 2u);

  // Filters: only nodes recorded with the given netns and pin root.
  auto otherNetns = statusRequest();
  otherNetns.netns = "other";
  EXPECT_TRUE(loader_->status(otherNetns)->nodes.empty());
  auto otherPinRoot = statusRequest();
  otherPinRoot.pinRoot = "/sys/fs/bpf/other";
  EXPECT_TRUE(loader_->status(otherPinRoot)->nodes.empty());
  auto oneNode = statusRequest();
  oneNode.node = "n1";
  oneNode.netns = placement_.netns;
  EXPECT_EQ(loader_->status(oneNode)->nodes.size(), 1u);
}

TEST_F(LoaderTest, StatusFlagsDriftFromWhatWasLoaded) {
  OutDirWriter(outDir_).write({.bIngress = {denyTcpFrom(kIdentityA, 9001, 7)}});
  auto loaded = loader_->load(request());
  ASSERT_TRUE(loaded) << loaded.error();
  uint32_t aToEp = 0, bToEp = 0;
  for (const auto& attached : loaded->attached)
    if (attached.hook == "tc-egress")
      (attached.endpoint == "a" ? aToEp : bToEp) = attached.programId;

  {
    auto netns = NetnsGuard::enter(placement_.netns);
    ASSERT_TRUE(netns) << netns.error();
    maps::LibbpfLogCapture log;
    // Someone removed polc's filter on a's ingress hook...
    auto detached =
        runtime::detachFilter(*runtime::interfaceIndex("lxc-a"), "lxc-a", "tc-ingress", log);
    ASSERT_TRUE(detached && *detached);
    // ...and put a's program where b's was, under polc's handle.
    UniqueFd other(bpf_obj_get(pin("n1/a/polc_to_ep").c_str()));
    ASSERT_TRUE(other.valid());
    auto replaced = runtime::attachFilter(*runtime::interfaceIndex("lxc-b"), "lxc-b", "tc-egress",
                                          other.get(), log);
    ASSERT_TRUE(replaced) << replaced.error();
  }
  // A pin removed, a policy entry added by hand.
  ASSERT_EQ(::unlink(pin("n1/a/polc_policy_eg").c_str()), 0);
  {
    UniqueFd map(bpf_obj_get(pin("n1/b/polc_policy_in").c_str()));
    ASSERT_TRUE(map.valid());
    artifacts::PolicyTable extra;
    extra.entries = {denyTcpFrom(kIdentityB, 22, 9)};
    auto entries = maps::toPolicyMapEntries(extra);
    ASSERT_EQ(bpf_map_update_elem(map.get(), &entries[0].first, &entries[0].second, BPF_ANY), 0);
  }

  auto report = status();
  ASSERT_EQ(report.nodes.size(), 1u);
  EXPECT_FALSE(report.inSync());
  const auto& drift = report.nodes[0].drift;
  EXPECT_TRUE(mentions(drift, "a: polc's filter at tc-ingress of lxc-a is missing"))
      << joined(drift);
  EXPECT_TRUE(mentions(drift, "b: the filter at tc-egress of lxc-b runs program id " +
                                  std::to_string(aToEp) + " (polc_to_ep), not id " +
                                  std::to_string(bToEp)))
      << joined(drift);
  EXPECT_TRUE(mentions(drift, "map pin n1/a/polc_policy_eg is missing")) << joined(drift);
  EXPECT_TRUE(mentions(drift, "map n1/b/polc_policy_in holds 2 entries, the load left 1"))
      << joined(drift);
  EXPECT_EQ(drift.size(), 4u) << joined(drift);

  // The program records say the same.
  const auto& a = report.nodes[0].endpoints[0];
  ASSERT_EQ(a.endpoint, "a");
  EXPECT_FALSE(a.programs[0].attachedId);

  // Everything gone with the lab's namespace.
  ASSERT_TRUE(lab::down({.prefix = prefix_}));
  auto gone = status();
  ASSERT_EQ(gone.nodes.size(), 1u);
  EXPECT_TRUE(mentions(gone.nodes[0].drift, "network namespace " + placement_.netns + " is gone"))
      << joined(gone.nodes[0].drift);
}

// The hooks are asked on a thread of their own while the build is hashed:
// what they answer still decides which endpoints keep their programs. A
// reload of the same build replaces exactly the endpoints changed behind
// polc's back (a filter removed, a hook running another program, a pin
// removed) and leaves the other alone.
TEST_F(LoaderTest, ReloadReplacesOnlyTheEndpointsChangedBehindPolcsBack) {
  OutDirWriter(outDir_).write({.bIngress = {denyTcpFrom(kIdentityA, 9001, 7)}});
  ASSERT_TRUE(loader_->load(request()));
  auto unchanged = loader_->load(request());
  ASSERT_TRUE(unchanged) << unchanged.error();
  for (const auto& endpoint : unchanged->endpoints)
    EXPECT_EQ(endpoint.action, EndpointAction::Unchanged) << endpoint.endpoint;

  {
    auto netns = NetnsGuard::enter(placement_.netns);
    ASSERT_TRUE(netns) << netns.error();
    maps::LibbpfLogCapture log;
    UniqueFd other(bpf_obj_get(pin("n1/a/polc_to_ep").c_str()));
    ASSERT_TRUE(other.valid());
    auto replaced = runtime::attachFilter(*runtime::interfaceIndex("lxc-b"), "lxc-b", "tc-egress",
                                          other.get(), log);
    ASSERT_TRUE(replaced) << replaced.error();
  }
  auto repaired = loader_->load(request());
  ASSERT_TRUE(repaired) << repaired.error();
  ASSERT_EQ(repaired->endpoints.size(), 2u);
  EXPECT_EQ(repaired->endpoints[0].action, EndpointAction::Unchanged);
  EXPECT_EQ(repaired->endpoints[1].action, EndpointAction::Replaced);
  EXPECT_TRUE(status().inSync()) << joined(status().nodes[0].drift);
  EXPECT_FALSE(aReachesB(9001));
  EXPECT_TRUE(aReachesB(9002));

  ASSERT_EQ(::unlink(pin("n1/a/polc_policy_eg").c_str()), 0);
  auto repinned = loader_->load(request());
  ASSERT_TRUE(repinned) << repinned.error();
  EXPECT_EQ(repinned->endpoints[0].action, EndpointAction::Replaced);
  EXPECT_EQ(repinned->endpoints[1].action, EndpointAction::Unchanged);
  EXPECT_TRUE(fs::exists(pin("n1/a/polc_policy_eg")));
  EXPECT_TRUE(status().inSync()) << joined(status().nodes[0].drift);
}

using Clock = std::chrono::steady_clock;

// A smoke test: it passes without the lock too (the race is rare); the two
// tests below, which hold the lock, are what prove serialization.
TEST_F(LoaderTest, ConcurrentLoadsBothSucceedAndEnforce) {
  OutDirWriter(outDir_).write({.bIngress = {denyTcpFrom(kIdentityA, 9001, 7)}});
  // Two loaders (as two `polc load` would be) started at the same moment.
  std::latch start(2);
  auto loadOnce = [&] {
    auto loader = makeKernelLoader();
    start.arrive_and_wait();
    return loader->load(request());
  };
  auto first = std::async(std::launch::async, loadOnce);
  auto second = std::async(std::launch::async, loadOnce);
  auto firstReport = first.get();
  auto secondReport = second.get();
  ASSERT_TRUE(firstReport) << firstReport.error();
  ASSERT_TRUE(secondReport) << secondReport.error();

  // The later load replaced the earlier one in place: one filter per hook,
  // the recorded state matches the kernel.
  auto report = status();
  ASSERT_EQ(report.nodes.size(), 1u);
  EXPECT_TRUE(report.inSync()) << joined(report.nodes[0].drift);
  size_t programs = 0;
  for (const auto& endpoint : report.nodes[0].endpoints) programs += endpoint.programs.size();
  EXPECT_EQ(programs, 4u);
  EXPECT_FALSE(aReachesB(9001));
  EXPECT_TRUE(aReachesB(9002));
  // Interleaved, both would see no previous state and only one would create
  // the qdisc: the other's state, written last, would disown it.
  ASSERT_TRUE(loader_->unload({"", placement_}));
  EXPECT_FALSE(hasClsact("lxc-a"));
  EXPECT_FALSE(hasClsact("lxc-b"));
}

TEST_F(LoaderTest, LoadWaitsForTheLockHolder) {
  OutDirWriter(outDir_).write({});
  auto held = runtime::StateLock::acquire(placement_.stateDir, std::chrono::milliseconds(0));
  ASSERT_TRUE(held) << held.error();
  std::optional<runtime::StateLock> holder(std::move(*held));

  auto started = Clock::now();
  auto waiting = std::async(std::launch::async, [&] {
    auto loader = makeKernelLoader();
    return loader->load({outDir_, "", placement_, std::chrono::seconds(10)});
  });
  EXPECT_EQ(waiting.wait_for(std::chrono::milliseconds(400)), std::future_status::timeout)
      << "load ran while another held the lock";
  EXPECT_FALSE(attachedProgram("lxc-a", "tc-ingress"));
  holder.reset(); // release
  auto loaded = waiting.get();
  ASSERT_TRUE(loaded) << loaded.error();
  EXPECT_GE(Clock::now() - started, std::chrono::milliseconds(400));
  EXPECT_TRUE(attachedProgram("lxc-a", "tc-ingress"));
}

TEST_F(LoaderTest, LoadAndUnloadGiveUpAfterTheTimeoutNamingTheHolder) {
  OutDirWriter(outDir_).write({});
  ASSERT_TRUE(loader_->load(request()));
  auto holder = runtime::StateLock::acquire(placement_.stateDir, std::chrono::milliseconds(0));
  ASSERT_TRUE(holder) << holder.error();
  // Held by this process: flock conflicts between open file descriptions,
  // so a second acquire fails even here, as for another process.
  const auto pid = "(pid " + std::to_string(::getpid()) + ")";

  auto started = Clock::now();
  auto refused = loader_->load({outDir_, "", placement_, std::chrono::milliseconds(300)});
  EXPECT_GE(Clock::now() - started, std::chrono::milliseconds(300));
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("holds " + (placement_.stateDir / "lock").string() + " " + pid),
            std::string::npos)
      << refused.error();
  EXPECT_NE(refused.error().find("gave up after 0.3 s"), std::string::npos) << refused.error();

  auto notUnloaded = loader_->unload({"", placement_, std::chrono::milliseconds(100)});
  ASSERT_FALSE(notUnloaded);
  EXPECT_NE(notUnloaded.error().find(pid), std::string::npos) << notUnloaded.error();
  EXPECT_TRUE(attachedProgram("lxc-a", "tc-ingress")) << "unload went ahead without the lock";
}

// ---- Fail closed: what is loaded is what was verified -----------------------

// The tag the kernel computed for the program on a hook (a digest of its
// instructions): tells which object a load really attached.
std::array<uint8_t, BPF_TAG_SIZE> programTag(uint32_t id) {
  std::array<uint8_t, BPF_TAG_SIZE> tag{};
  UniqueFd fd(bpf_prog_get_fd_by_id(id));
  bpf_prog_info info{};
  uint32_t length = sizeof info;
  if (fd.valid() && bpf_obj_get_info_by_fd(fd.get(), &info, &length) == 0)
    std::copy(std::begin(info.tag), std::end(info.tag), tag.begin());
  return tag;
}

// Changes a file of the build and its digest in manifest.json, as someone
// with write access to the build directory could.
void rewriteListed(const fs::path& outDir, const std::string& path, const std::string& contents) {
  ASSERT_TRUE(polc::writeFile(outDir / path, contents));
  auto manifest = nlohmann::json::parse(polc::readFile(outDir / "manifest.json").value());
  manifest["files"][path] = artifacts::sha256Hex(contents);
  ASSERT_TRUE(polc::writeFile(outDir / "manifest.json", manifest.dump(2)));
}

// An object swapped for another between its digest check and its loading
// (a rename loop racing the loads) is never what gets attached: the load
// uses the bytes it hashed, or fails.
TEST_F(LoaderTest, ObjectSwappedDuringALoadIsNeverAttached) {
  OutDirWriter(outDir_).write({.bIngress = {denyTcpFrom(kIdentityA, 9001, 7)}});
  ASSERT_TRUE(loader_->load(request()));
  const auto genuineId = attachedProgram("lxc-b", "tc-egress");
  ASSERT_TRUE(genuineId);
  const auto genuineTag = programTag(*genuineId);
  ASSERT_TRUE(loader_->unload({"", placement_}));

  const auto object = outDir_ / "objects/fixture.o";
  const auto genuine = outDir_ / "objects/genuine.o.swap";
  const auto open = outDir_ / "objects/open.o.swap";
  fs::copy_file(object, genuine);
  fs::copy_file(POLC_LOADER_OPEN_OBJECT, open);
  std::atomic<bool> stop{false};
  std::thread swapper([&] {
    // Each rename replaces the object in one step, so every open finds one
    // of the two whole: half the time the genuine one, half the open one.
    for (bool swapped = false; !stop; swapped = !swapped) {
      const auto temporary = outDir_ / "objects/next.o.swap";
      fs::copy_file(swapped ? genuine : open, temporary, fs::copy_options::overwrite_existing);
      fs::rename(temporary, object);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  int loaded = 0;
  for (int round = 0; round < 20; ++round) {
    auto load = loader_->load(request());
    if (!load) continue; // refused: the object did not match its digest
    ++loaded;
    auto attached = attachedProgram("lxc-b", "tc-egress");
    ASSERT_TRUE(attached);
    EXPECT_EQ(programTag(*attached), genuineTag) << "round " << round << " attached another object";
    ASSERT_TRUE(loader_->unload({"", placement_}));
  }
  stop = true;
  swapper.join();
  EXPECT_GT(loaded, 0) << "no load got through the swaps: the race was not tried";
}

// Values out of the range of the kernel's layouts are refused, never
// truncated into them; so are paths that lead out of the build and names
// that are no interface's. All before the kernel is touched.
TEST_F(LoaderTest, ManifestAndTableFieldsAreCheckedBeforeTheKernelIsTouched) {
  auto refusedWith = [&](const std::string& expected) {
    auto refused = loader_->load(request());
    ASSERT_FALSE(refused) << "loaded, expected: " << expected;
    EXPECT_NE(refused.error().find(expected), std::string::npos) << refused.error();
    EXPECT_FALSE(fs::exists(placement_.pinRoot));
    EXPECT_FALSE(attachedProgram("lxc-b", "tc-egress"));
  };
  const std::string table = R"({"direction": "ingress", "endpoint": "b", "isolated": false,
    "rules": [], "entries": [{"identity": IDENTITY, "port": PORT, "port_prefix_bits": 16,
    "protocol": "tcp", "rule": 1, "verdict": "deny"}]})";
  auto entry = [&](const std::string& identity, const std::string& port) {
    auto text = table;
    text.replace(text.find("IDENTITY"), 8, identity);
    text.replace(text.find("PORT"), 4, port);
    return text;
  };
  OutDirWriter(outDir_).write({});
  rewriteListed(outDir_, "endpoints/b/ingress.json", entry("1099511627776", "9001"));
  refusedWith("\"identity\" is 1099511627776, not an integer from 0 to 4294967295");
  OutDirWriter(outDir_).write({});
  rewriteListed(outDir_, "endpoints/b/ingress.json", entry("256", "70000"));
  refusedWith("\"port\" is 70000, not an integer from 0 to 65535");

  // The object through a symlinked directory outside the build.
  const auto outside = fs::temp_directory_path() / (prefix_ + "-outside");
  fs::create_directories(outside);
  fs::copy_file(POLC_LOADER_OPEN_OBJECT, outside / "fixture.o");
  OutDirWriter(outDir_).write({});
  fs::remove_all(outDir_ / "objects");
  fs::create_directory_symlink(outside, outDir_ / "objects");
  rewriteListed(outDir_, "objects/fixture.o", polc::readFile(outside / "fixture.o").value());
  refusedWith("objects/fixture.o: cannot read " + (outDir_ / "objects/fixture.o").string() +
              ": its path leads outside the directory");
  fs::remove(outDir_ / "objects");
  fs::remove_all(outside);

  // A table that is a FIFO: refused at once, never waited on.
  OutDirWriter(outDir_).write({});
  fs::remove(outDir_ / "endpoints/b/ingress.json");
  ASSERT_EQ(::mkfifo((outDir_ / "endpoints/b/ingress.json").c_str(), 0600), 0);
  refusedWith("endpoints/b/ingress.json: cannot read " +
              (outDir_ / "endpoints/b/ingress.json").string() +
              ": it is a FIFO, not a regular file");
  fs::remove(outDir_ / "endpoints/b/ingress.json");

  OutDirWriter(outDir_).write({.bInterface = "lxc/../eth0"});
  refusedWith("endpoint b: \"lxc/../eth0\" is not an interface name");
}

// Two state dirs on one pin root would each take the other's pins for
// their own (unloading the second removed the first's filters): the pin
// root records its owner, and another state dir is refused.
TEST_F(LoaderTest, SecondStateDirOnTheSamePinRootIsRefused) {
  OutDirWriter(outDir_).write({.bIngress = {denyTcpFrom(kIdentityA, 9001, 7)}});
  ASSERT_TRUE(loader_->load(request()));
  auto other = placement_;
  other.stateDir = placement_.stateDir.string() + "-other";
  struct RemoveOther {
    fs::path dir;
    ~RemoveOther() { fs::remove_all(dir); }
  } removeOther{other.stateDir};

  auto second = loader_->load({outDir_, "", other});
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().find("pin root " + placement_.pinRoot.string() +
                                " belongs to state dir " + placement_.stateDir.string()),
            std::string::npos)
      << second.error();
  // The second state dir recorded nothing, so its unload touches nothing.
  EXPECT_FALSE(fs::exists(other.stateDir / "n1.json"));
  ASSERT_TRUE(loader_->unload({"", other}));
  EXPECT_TRUE(attachedProgram("lxc-b", "tc-egress"));
  EXPECT_FALSE(aReachesB(9001)) << "the first state dir's policy is no longer enforced";
  EXPECT_TRUE(status().inSync());

  // A state file that names the pin root from another state dir (copied,
  // or written before owners were recorded) is not unloaded from there.
  fs::create_directories(other.stateDir);
  fs::copy_file(placement_.stateDir / "n1.json", other.stateDir / "n1.json");
  auto refused = loader_->unload({"", other});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("belongs to state dir"), std::string::npos) << refused.error();
  EXPECT_TRUE(attachedProgram("lxc-b", "tc-egress"));

  // Once its owner unloaded everything, the pin root is free (and gone).
  ASSERT_TRUE(loader_->unload({"", placement_}));
  EXPECT_FALSE(fs::exists(placement_.pinRoot));
  fs::remove(other.stateDir / "n1.json");
  auto now = loader_->load({outDir_, "", other});
  ASSERT_TRUE(now) << now.error();
  ASSERT_TRUE(loader_->unload({"", other}));
  EXPECT_FALSE(fs::exists(placement_.pinRoot));
}

} // namespace
} // namespace polc::loader
