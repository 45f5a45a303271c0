// Table entries become the kernel key layouts of bpf/lib/polc_structs.h.
#include "map_sync.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

#include <cstring>

namespace polc::runtime {
namespace {

TEST(MapKeys, Ipv4IpcacheKeyHasFamilyPrefixAndAddressInNetworkOrder) {
  artifacts::Ipcache ipcache;
  ipcache.entries.push_back({4, "10.1.2.3", 32, 300});
  ipcache.entries.push_back({4, "10.9.255.255", 16, 2});
  auto entries = toIpcacheMapEntries(ipcache);
  ASSERT_TRUE(entries) << entries.error();
  ASSERT_EQ(entries->size(), 2u);

  const auto& [host, hostValue] = (*entries)[0];
  EXPECT_EQ(host.prefixlen, POLC_IPCACHE_PREFIX_BASE + 32u);
  EXPECT_EQ(host.family, POLC_FAMILY_IPV4);
  EXPECT_EQ(host.addr[0], htonl(0x0a010203));
  EXPECT_EQ(host.addr[1], 0u);
  EXPECT_EQ(hostValue.identity, 300u);

  // Bits after the prefix are zeroed: 10.9.255.255/16 is the key of 10.9.0.0/16.
  const auto& [network, networkValue] = (*entries)[1];
  EXPECT_EQ(network.prefixlen, POLC_IPCACHE_PREFIX_BASE + 16u);
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
  EXPECT_EQ(key.prefixlen, POLC_IPCACHE_PREFIX_BASE + 128u);
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
  EXPECT_EQ(entries[3].first.pad, 0);
}

} // namespace
} // namespace polc::runtime
