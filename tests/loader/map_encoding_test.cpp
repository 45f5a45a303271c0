// Table entries become the kernel key layouts of bpf/lib/polc_structs.h.
#include "polc/maps/map_encoding.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

#include <cstring>

namespace polc::maps {
namespace {

TEST(MapKeys, Ipv4IpcacheKeyHasFamilyPrefixAndAddressInNetworkOrder) {
  artifacts::Ipcache ipcache;
  ipcache.entries.push_back({4, "10.1.2.3", 32, 300});
  ipcache.entries.push_back({4, "10.9.255.255", 16, 2});
  auto entries = toIpcacheMapEntries(ipcache);
  ASSERT_TRUE(entries) << entries.error();
  ASSERT_EQ(entries->size(), 2u);

  const auto& [host, hostValue] = (*entries)[0];
  EXPECT_EQ(host.prefixlen, 32u);
  EXPECT_EQ(host.family, POLC_FAMILY_IPV4);
  EXPECT_EQ(host.addr[0], htonl(0x0a010203));
  EXPECT_EQ(host.addr[1], 0u);
  EXPECT_EQ(hostValue.identity, 300u);

  // Bits after the prefix are zeroed: 10.9.255.255/16 is the key of 10.9.0.0/16.
  const auto& [network, networkValue] = (*entries)[1];
  EXPECT_EQ(network.prefixlen, 16u);
  EXPECT_EQ(network.addr[0], htonl(0x0a090000));
  EXPECT_EQ(networkValue.identity, 2u);
}

TEST(MapKeys, Ipv6IpcacheKeyUsesAllFourWords) {
  artifacts::Ipcache ipcache;
  ipcache.entries.push_back({6, "fd00::1", 128, 400});
  auto entries = toIpcacheMapEntries(ipcache);
  ASSERT_TRUE(entries) << entries.error();
  const auto& key = entries->front().first;
  EXPECT_EQ(key.family, POLC_FAMILY_IPV6);
  EXPECT_EQ(key.prefixlen, 128u);
  in6_addr expected{};
  ASSERT_EQ(inet_pton(AF_INET6, "fd00::1", &expected), 1);
  EXPECT_EQ(std::memcmp(key.addr, &expected, sizeof expected), 0);
}

TEST(MapKeys, MalformedAddressIsAnError) {
  artifacts::Ipcache ipcache;
  ipcache.entries.push_back({4, "10.1.2", 32, 300});
  auto entries = toIpcacheMapEntries(ipcache);
  ASSERT_FALSE(entries);
  EXPECT_NE(entries.error().find("10.1.2"), std::string::npos);
}

TEST(MapKeys, PolicyKeyPrefixesAndPortByteOrder) {
  artifacts::PolicyTable table;
  table.entries.push_back({257, 0, 0, 0, artifacts::Verdict::Allow, 1});          // any protocol
  table.entries.push_back({257, IPPROTO_TCP, 0, 0, artifacts::Verdict::Deny, 2}); // any port
  table.entries.push_back({257, IPPROTO_TCP, 8080, 16, artifacts::Verdict::Allow, 3}); // one port
  table.entries.push_back({0, IPPROTO_UDP, 0x1234, 8, artifacts::Verdict::Allow, 4});  // port range
  auto entries = toPolicyMapEntries(table);
  ASSERT_EQ(entries.size(), 4u);

  EXPECT_EQ(entries[0].first.prefixlen, uint32_t{POLC_POLICY_PREFIX_IDENTITY});
  EXPECT_EQ(entries[0].first.identity, 257u);
  EXPECT_EQ(entries[0].first.protocol, 0);
  EXPECT_EQ(entries[0].second.verdict, POLC_VERDICT_ALLOW);

  EXPECT_EQ(entries[1].first.prefixlen, uint32_t{POLC_POLICY_PREFIX_PROTOCOL});
  EXPECT_EQ(entries[1].second.verdict, POLC_VERDICT_DENY);
  EXPECT_EQ(entries[1].second.rule_id, 2u);

  EXPECT_EQ(entries[2].first.prefixlen, uint32_t{POLC_POLICY_PREFIX_FULL});
  EXPECT_EQ(entries[2].first.dport, htons(8080));

  // 0x1234 with 8 prefix bits keeps the high byte only.
  EXPECT_EQ(entries[3].first.prefixlen, POLC_POLICY_PREFIX_PROTOCOL + 8u);
  EXPECT_EQ(entries[3].first.dport, htons(0x1200));
  EXPECT_EQ(entries[3].first.identity, uint32_t{POLC_IDENTITY_ANY});
}

TEST(MapKeys, PolicyKeyZeroesWhatItsPrefixLeavesOut) {
  // Prefix 32 is any protocol and port, 48 any port: whatever the entry
  // carries there is zero in the key, as in the datapath's probes.
  auto peer = policyKey(300, IPPROTO_TCP, POLC_POLICY_PREFIX_IDENTITY, 80);
  EXPECT_EQ(peer.protocol, 0);
  EXPECT_EQ(peer.dport, 0);
  auto protocol = policyKey(300, IPPROTO_TCP, POLC_POLICY_PREFIX_PROTOCOL, 80);
  EXPECT_EQ(protocol.protocol, IPPROTO_TCP);
  EXPECT_EQ(protocol.dport, 0);
  EXPECT_EQ(policyKey(300, IPPROTO_TCP, 61, 0x1237).dport, htons(0x1230));
}

TEST(IpcacheLengths, LongestFirstPerFamilyWithMasks) {
  artifacts::Ipcache ipcache;
  ipcache.entries = {{4, "10.0.0.1", 32, 300}, {4, "10.0.0.0", 8, 301}, {4, "10.2.0.0", 16, 302},
                     {4, "10.3.0.1", 32, 303}, {6, "fd00::", 64, 304},  {6, "fd00::1", 128, 305},
                     {6, "fd00:1::", 33, 306}};
  auto entries = toIpcacheMapEntries(ipcache);
  ASSERT_TRUE(entries) << entries.error();
  auto contents = toMapContents("ipcache", *entries);
  ASSERT_TRUE(contents) << contents.error();
  auto lengths = ipcacheLengths({&*contents});
  ASSERT_EQ(lengths.v4_count, 3);
  EXPECT_EQ(lengths.v4[0], 32);
  EXPECT_EQ(lengths.v4[1], 16);
  EXPECT_EQ(lengths.v4[2], 8);
  EXPECT_EQ(lengths.v4_mask[0], 0xffffffffu);
  EXPECT_EQ(lengths.v4_mask[1], htonl(0xffff0000u));
  EXPECT_EQ(lengths.v4_mask[2], htonl(0xff000000u));
  ASSERT_EQ(lengths.v6_count, 3);
  EXPECT_EQ(lengths.v6[0], 128);
  EXPECT_EQ(lengths.v6[1], 64);
  EXPECT_EQ(lengths.v6[2], 33);
  const uint32_t mask33[4] = {0xffffffffu, htonl(0x80000000u), 0, 0};
  EXPECT_EQ(std::memcmp(lengths.v6_mask[2], mask33, sizeof mask33), 0);
}

TEST(IpcacheLengths, UnionOfOldAndNew) {
  artifacts::Ipcache before, after;
  before.entries = {{4, "10.0.0.1", 32, 300}, {4, "10.0.0.0", 8, 301}};
  after.entries = {{4, "10.0.0.1", 32, 300}, {4, "10.2.0.0", 16, 302}};
  auto oldContents = toMapContents("ipcache", *toIpcacheMapEntries(before));
  auto newContents = toMapContents("ipcache", *toIpcacheMapEntries(after));
  auto lengths = ipcacheLengths({&*oldContents, &*newContents});
  ASSERT_EQ(lengths.v4_count, 3);
  EXPECT_EQ(lengths.v4[0], 32);
  EXPECT_EQ(lengths.v4[1], 16);
  EXPECT_EQ(lengths.v4[2], 8);
  EXPECT_EQ(lengths.v6_count, 0);
}

TEST(PolicyMapCapacity, TwiceTheEntriesAPowerOfTwoWithinBounds) {
  EXPECT_EQ(policyMapCapacity(0), kPolicyMapMinEntries);
  EXPECT_EQ(policyMapCapacity(32), 64u);
  EXPECT_EQ(policyMapCapacity(33), 128u);
  EXPECT_EQ(policyMapCapacity(1000), 2048u);
  EXPECT_EQ(policyMapCapacity(100000), uint32_t{POLC_POLICY_MAX_ENTRIES});
  EXPECT_EQ(policyMapCapacity(POLC_POLICY_MAX_ENTRIES), uint32_t{POLC_POLICY_MAX_ENTRIES});
}

} // namespace
} // namespace polc::maps
