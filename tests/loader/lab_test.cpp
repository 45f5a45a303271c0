// polc lab with real namespaces and traffic. Every namespace carries the
// test's random prefix and is removed in TearDown, also after a failure.
#include "polc/lab/lab.h"

#include "kernel_test_support.h"
#include "polc/support/command.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace polc::lab {
namespace {

namespace fs = std::filesystem;
using polc::testing::icmpEchoReplies;
using polc::testing::tcpConnects;

constexpr int kTimeoutMs = 2000;

std::vector<std::string> namespacesWithPrefix(const std::string& prefix) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it("/run/netns", ec), end; !ec && it != end; it.increment(ec))
    if (it->path().filename().string().starts_with(prefix + "-"))
      names.push_back(it->path().filename());
  return names;
}

IpPrefix address(const char* text) {
  auto parsed = parseAddress(text);
  EXPECT_TRUE(parsed) << text;
  return parsed.value_or(IpPrefix{});
}

topology::Topology twoEndpointTopology() {
  topology::Topology topology;
  topology.cluster = "lab-test";
  topology::Node node;
  node.name = "n1";
  node.address = address("10.66.0.1");
  topology::Endpoint a;
  a.name = "a";
  a.node = "n1";
  a.addresses = {address("10.66.1.10"), address("fd66::10")};
  a.interface = "lxc-a";
  topology::Endpoint b = a;
  b.name = "b";
  b.addresses = {address("10.66.1.11"), address("fd66::11")};
  b.interface = "lxc-b";
  node.endpoints = {a, b};
  topology.nodes = {node};
  return topology;
}

class LabTest : public ::testing::Test {
protected:
  void SetUp() override {
    POLC_REQUIRE_KERNEL_SUPPORT();
    options_.prefix = polc::testing::randomTestPrefix();
  }
  void TearDown() override {
    if (options_.prefix.empty()) return;
    (void)down(options_);
    EXPECT_TRUE(namespacesWithPrefix(options_.prefix).empty()) << "lab namespaces leaked";
  }

  std::string endpointNs(const std::string& endpoint) {
    return endpointNamespace(options_.prefix, endpoint);
  }

  LabOptions options_{.prefix = ""};
};

TEST_F(LabTest, EndpointsReachEachOtherThroughTheNodeNamespace) {
  auto topology = twoEndpointTopology();
  auto created = up(topology, options_);
  ASSERT_TRUE(created) << created.error();
  EXPECT_EQ(created->namespaces.size(), 3u);
  EXPECT_EQ(namespacesWithPrefix(options_.prefix).size(), 3u);

  EXPECT_TRUE(icmpEchoReplies(endpointNs("a"), "10.66.1.11", kTimeoutMs)) << "ping a -> b";
  EXPECT_TRUE(icmpEchoReplies(endpointNs("b"), "10.66.1.10", kTimeoutMs)) << "ping b -> a";
  EXPECT_TRUE(tcpConnects(endpointNs("a"), endpointNs("b"), "10.66.1.11", 8080, kTimeoutMs))
      << "tcp a -> b";
  EXPECT_TRUE(tcpConnects(endpointNs("b"), endpointNs("a"), "fd66::10", 8081, kTimeoutMs))
      << "tcp6 b -> a";
  // The node's address lives in the node namespace: reachable as "host".
  EXPECT_TRUE(icmpEchoReplies(endpointNs("a"), "10.66.0.1", kTimeoutMs)) << "ping a -> node";

  // Nothing appeared in the test's own namespace.
  auto ownLinks = runCommand({"ip", "-o", "link", "show"});
  ASSERT_TRUE(ownLinks) << ownLinks.error();
  EXPECT_EQ(ownLinks->out.find("lxc-a"), std::string::npos);

  auto removed = down(options_);
  ASSERT_TRUE(removed) << removed.error();
  EXPECT_EQ(removed->namespaces.size(), 3u);
  EXPECT_TRUE(namespacesWithPrefix(options_.prefix).empty());

  auto again = down(options_);
  ASSERT_TRUE(again) << again.error();
  EXPECT_TRUE(again->namespaces.empty());
}

TEST_F(LabTest, EndpointsOnDifferentNodesReachEachOtherOverTheNodeLink) {
  auto topology = twoEndpointTopology();
  // b moves to a second node: a and b now talk across the node link.
  topology::Node second;
  second.name = "n2";
  second.address = address("fd66:2::1");
  second.endpoints = {topology.nodes[0].endpoints[1]};
  second.endpoints[0].node = "n2";
  second.endpoints[0].addresses = {address("10.66.2.11"), address("fd66:2::11")};
  topology.nodes[0].endpoints.pop_back();
  topology.nodes.push_back(second);
  auto created = up(topology, options_);
  ASSERT_TRUE(created) << created.error();
  EXPECT_EQ(created->namespaces.size(), 4u);

  EXPECT_TRUE(icmpEchoReplies(endpointNs("a"), "10.66.2.11", kTimeoutMs)) << "ping a -> b";
  EXPECT_TRUE(icmpEchoReplies(endpointNs("b"), "10.66.1.10", kTimeoutMs)) << "ping b -> a";
  EXPECT_TRUE(tcpConnects(endpointNs("a"), endpointNs("b"), "10.66.2.11", 8080, kTimeoutMs))
      << "tcp a -> b";
  EXPECT_TRUE(tcpConnects(endpointNs("b"), endpointNs("a"), "fd66::10", 8081, kTimeoutMs))
      << "tcp6 b -> a";
  EXPECT_TRUE(tcpConnects(endpointNs("a"), endpointNs("b"), "fd66:2::11", 8082, kTimeoutMs))
      << "tcp6 a -> b";
  // The other node's own address is routed too (IPv4 node n1, IPv6 node n2).
  EXPECT_TRUE(icmpEchoReplies(endpointNs("b"), "10.66.0.1", kTimeoutMs)) << "ping b -> n1";

  // The link is named after the peer node on each side.
  auto links = runCommand(
      {"ip", "-n", nodeNamespace(options_.prefix, "n1"), "-o", "link", "show", "dev", "to-n2"});
  ASSERT_TRUE(links);
  EXPECT_EQ(links->exitCode, 0) << links->err;

  // An endpoint interface may not take a link's name.
  ASSERT_TRUE(down(options_));
  topology.nodes[0].endpoints[0].interface = "to-n2";
  auto refused = up(topology, options_);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("link to node n2"), std::string::npos) << refused.error();
}

TEST_F(LabTest, UpRefusesASecondLabWithTheSamePrefix) {
  auto topology = twoEndpointTopology();
  ASSERT_TRUE(up(topology, options_));
  auto second = up(topology, options_);
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().find("already exists"), std::string::npos) << second.error();
  EXPECT_EQ(namespacesWithPrefix(options_.prefix).size(), 3u);
}

TEST_F(LabTest, DownCleansUpAfterACrash) {
  // What a crashed `up` leaves: namespaces and a veth, and no state anywhere.
  auto nodeNs = nodeNamespace(options_.prefix, "n1");
  auto epNs = endpointNamespace(options_.prefix, "x");
  ASSERT_TRUE(runChecked({"ip", "netns", "add", nodeNs}));
  ASSERT_TRUE(runChecked({"ip", "netns", "add", epNs}));
  ASSERT_TRUE(runChecked({"ip", "-n", nodeNs, "link", "add", "name", "lxc-x", "type", "veth",
                          "peer", "name", "eth0", "netns", epNs}));

  auto removed = down(options_);
  ASSERT_TRUE(removed) << removed.error();
  EXPECT_EQ(removed->namespaces.size(), 2u);
  EXPECT_TRUE(namespacesWithPrefix(options_.prefix).empty());
}

TEST_F(LabTest, FailedUpRemovesWhatItCreated) {
  auto topology = twoEndpointTopology();
  // "lo" already exists in the node namespace: the second endpoint's veth fails.
  topology.nodes[0].endpoints[1].interface = "lo";
  auto created = up(topology, options_);
  ASSERT_FALSE(created);
  EXPECT_NE(created.error().find("endpoint b"), std::string::npos) << created.error();
  EXPECT_TRUE(namespacesWithPrefix(options_.prefix).empty());
}

TEST_F(LabTest, InvalidNamesAreRefusedBeforeAnythingIsCreated) {
  auto topology = twoEndpointTopology();
  topology.nodes[0].endpoints[0].interface = "much-too-long-interface";
  EXPECT_FALSE(up(topology, options_));
  topology = twoEndpointTopology();
  topology.nodes[0].endpoints[0].name = "../escape";
  EXPECT_FALSE(up(topology, options_));
  topology = twoEndpointTopology();
  // A prefix where a host address belongs (the loader never produces one).
  topology.nodes[0].endpoints[0].addresses = {*parsePrefix("10.66.1.0/24")};
  EXPECT_FALSE(up(topology, options_));
  topology = twoEndpointTopology();
  topology.nodes[0].address = *parsePrefix("10.66.0.0/16");
  EXPECT_FALSE(up(topology, options_));
  EXPECT_TRUE(namespacesWithPrefix(options_.prefix).empty());
}

TEST(LabPrefix, DownRefusesPrefixesThatCouldMatchOtherThings) {
  // No kernel needed: these fail before /run/netns is looked at.
  for (std::string prefix : {"", "a b", "polc*", "../x", "polc/"}) {
    auto removed = down(LabOptions{.prefix = prefix});
    EXPECT_FALSE(removed) << "prefix \"" << prefix << "\" was accepted";
  }
  EXPECT_EQ(nodeNamespace("p", "n1"), "p-n-n1");
  EXPECT_EQ(endpointNamespace("p", "web"), "p-e-web");
}

} // namespace
} // namespace polc::lab
