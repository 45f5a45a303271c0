// The kernel loader against a lab: a fixture BPF object with the datapath's
// maps, a hand-written build output directory, real tc hooks and traffic.
// Every namespace, pin and state file carries the test's random prefix and
// is removed in TearDown, also after a failure.
#include "polc/lab/lab.h"
#include "polc/loader/loader.h"

#include "command.h"
#include "kernel_test_support.h"
#include "netns_guard.h"
#include "tc.h"

#include "polc/artifacts/digest.h"
#include "polc/artifacts/manifest.h"
#include "polc/artifacts/tables.h"
#include "polc_structs.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

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
    add(manifest, node.ipcache, artifacts::dumpJson(artifacts::toJson(ipcache)));
    add(manifest, "objects/fixture.o", polc::readFile(POLC_LOADER_FIXTURE_OBJECT).value());
    for (const auto& name : spec.endpoints) {
      artifacts::EndpointArtifacts endpoint;
      endpoint.name = name;
      endpoint.interface = name == "b" ? spec.bInterface : "lxc-" + name;
      endpoint.identity = name == "a" ? kIdentityA : kIdentityB;
      endpoint.object = "objects/fixture.o";
      endpoint.fromEndpointProgram = endpoint.toEndpointProgram = true;
      endpoint.source = "endpoints/" + name + "/program.c";
      endpoint.ingressTable = "endpoints/" + name + "/ingress.json";
      endpoint.egressTable = "endpoints/" + name + "/egress.json";
      add(manifest, endpoint.source, "/* fixture */\n");
      for (auto direction : {artifacts::Direction::Ingress, artifacts::Direction::Egress}) {
        artifacts::PolicyTable table;
        table.endpoint = name;
        table.direction = direction;
        if (name == "b" && direction == artifacts::Direction::Ingress)
          table.entries = spec.bIngress;
        add(manifest,
            direction == artifacts::Direction::Ingress ? endpoint.ingressTable
                                                       : endpoint.egressTable,
            artifacts::dumpJson(artifacts::toJson(table)));
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
    auto netns = runtime::NetnsGuard::enter(placement_.netns);
    if (!netns) return std::nullopt;
    auto index = runtime::interfaceIndex(interface);
    if (!index) return std::nullopt;
    runtime::LibbpfLogCapture quiet; // "no such filter" is an answer here, not noise
    auto program = runtime::queryFilter(*index, hook, quiet);
    return program ? *program : std::nullopt;
  }

  bool hasClsact(const std::string& interface) {
    auto qdiscs =
        runtime::runCommand({"tc", "-n", placement_.netns, "qdisc", "show", "dev", interface});
    return qdiscs && qdiscs->out.find("clsact") != std::string::npos;
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
  EXPECT_EQ(policyIdentityPorts(pin("n1/b/polc_policy_in")),
            (std::set<std::pair<uint32_t, uint16_t>>{{kIdentityA, 9001}}));
  EXPECT_TRUE(policyIdentityPorts(pin("n1/b/polc_policy_eg")).empty());
  EXPECT_TRUE(fs::exists(pin("n1/polc_ct")));
  EXPECT_TRUE(fs::exists(placement_.stateDir / "n1.json"));

  // The deny entry is enforced by the attached program; other ports pass.
  EXPECT_FALSE(aReachesB(9001)) << "denied port passed";
  EXPECT_TRUE(aReachesB(9002)) << "allowed port blocked";
}

TEST_F(LoaderTest, ReloadReplacesEntriesInPlaceAndKeepsTheConntrackMap) {
  OutDirWriter(outDir_).write({.bIngress = {denyTcpFrom(kIdentityA, 9001, 7)}});
  auto first = loader_->load(request());
  ASSERT_TRUE(first) << first.error();
  auto conntrackId = pinnedMapId(pin("n1/polc_ct"));
  auto policyId = pinnedMapId(pin("n1/b/polc_policy_in"));
  ASSERT_NE(conntrackId, 0u);

  OutDirWriter(outDir_).write(
      {.bIngress = {denyTcpFrom(kIdentityA, 9002, 8), denyTcpFrom(kIdentityA, 9003, 9)}});
  auto second = loader_->load(request());
  ASSERT_TRUE(second) << second.error();
  EXPECT_EQ(pinnedMapId(pin("n1/polc_ct")), conntrackId);
  EXPECT_EQ(pinnedMapId(pin("n1/b/polc_policy_in")), policyId);
  EXPECT_EQ(policyIdentityPorts(pin("n1/b/polc_policy_in")),
            (std::set<std::pair<uint32_t, uint16_t>>{{kIdentityA, 9002}, {kIdentityA, 9003}}));

  // One polc filter per hook, now running the reloaded program.
  ASSERT_EQ(second->attached.size(), 4u);
  for (const auto& attached : second->attached)
    EXPECT_EQ(attachedProgram(attached.interface, attached.hook), attached.programId);
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
  EXPECT_EQ(unloaded->pinsRemoved, 2u + 2 * 4u); // ipcache, ct; per endpoint 2 maps + 2 programs
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
  ASSERT_TRUE(runtime::runChecked(
      {"tc", "-n", placement_.netns, "qdisc", "add", "dev", "lxc-a", "clsact"}));
  OutDirWriter(outDir_).write({});
  ASSERT_TRUE(loader_->load(request()));
  ASSERT_TRUE(loader_->load(request())); // a reload must not forget whose qdisc it is
  ASSERT_TRUE(loader_->unload({"", placement_}));
  EXPECT_TRUE(hasClsact("lxc-a"));
  EXPECT_FALSE(hasClsact("lxc-b"));
  EXPECT_FALSE(attachedProgram("lxc-a", "tc-ingress"));
}

TEST_F(LoaderTest, MissingInterfaceIsAClearErrorAndNothingIsLoaded) {
  OutDirWriter(outDir_).write({.bInterface = "lxc-zz"});
  auto refused = loader_->load(request());
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("endpoint b"), std::string::npos) << refused.error();
  EXPECT_NE(refused.error().find("lxc-zz"), std::string::npos) << refused.error();
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
  EXPECT_EQ(reloaded->attached.size(), 2u);
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

} // namespace
} // namespace polc::loader
