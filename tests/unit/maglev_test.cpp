// Maglev tables and the flow hash (services/maglev.h, bpf/lib/polc_hash.h):
// shares follow weights, a change of backends moves few other slots, and
// the output is pinned so that a change of either hash is caught.
#include "polc/services/maglev.h"

#include "polc_structs.h"

#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <map>
#include <stdexcept>

namespace polc::services {
namespace {

std::vector<MaglevBackend> backendsOf(std::vector<uint32_t> weights) {
  std::vector<MaglevBackend> backends;
  for (size_t i = 0; i < weights.size(); ++i)
    backends.push_back({"10.0.0." + std::to_string(i + 1) + ":8080", weights[i]});
  return backends;
}

// Slots per backend index.
std::map<uint32_t, size_t> countSlots(const std::vector<uint32_t>& table) {
  std::map<uint32_t, size_t> counts;
  for (const auto backend : table) ++counts[backend];
  return counts;
}

// The table with each slot named by its backend's key, so that tables of
// different backend lists compare.
std::vector<std::string> keysOf(const std::vector<MaglevBackend>& backends) {
  std::vector<std::string> keys;
  for (const auto index : buildMaglevTable(backends)) keys.push_back(backends.at(index).key);
  return keys;
}

void expectShares(const std::vector<uint32_t>& weights) {
  const auto table = buildMaglevTable(backendsOf(weights));
  ASSERT_EQ(table.size(), kMaglevTableSize);
  const auto counts = countSlots(table);
  double total = 0;
  for (const auto weight : weights) total += weight;
  for (size_t i = 0; i < weights.size(); ++i) {
    const auto it = counts.find(uint32_t(i));
    const double share = it == counts.end() ? 0.0 : double(it->second) / table.size();
    EXPECT_NEAR(share, weights[i] / total, 0.01) << "backend " << i;
  }
}

// The slots whose backend differs between two tables of keys, other than
// the slots `exempt` held in either of them.
size_t movedOthers(const std::vector<std::string>& before, const std::vector<std::string>& after,
                   const std::string& exempt) {
  size_t moved = 0;
  for (size_t i = 0; i < before.size(); ++i)
    if (before[i] != exempt && after[i] != exempt && before[i] != after[i]) ++moved;
  return moved;
}

std::array<uint32_t, 4> ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  const uint8_t bytes[4] = {a, b, c, d}; // as in the packet
  std::array<uint32_t, 4> words{};
  std::memcpy(&words[0], bytes, sizeof(bytes));
  return words;
}

uint16_t port(uint16_t host) { // network byte order, as in the packet
  const uint8_t bytes[2] = {uint8_t(host >> 8), uint8_t(host)};
  uint16_t value;
  std::memcpy(&value, bytes, sizeof(value));
  return value;
}

FlowTuple someTcpFlow() {
  FlowTuple tuple;
  tuple.saddr = ipv4(10, 0, 0, 1);
  tuple.daddr = ipv4(10, 96, 0, 5);
  tuple.sport = port(40000);
  tuple.dport = port(5432);
  tuple.protocol = 6; // IPPROTO_TCP
  tuple.family = POLC_FAMILY_IPV4;
  return tuple;
}

TEST(MaglevTable, SameInputSameTable) {
  const auto backends = backendsOf({1, 2, 3, 1});
  EXPECT_EQ(buildMaglevTable(backends), buildMaglevTable(backends));
}

// Pins the key hashes and the fill: a change here moves flows of every
// service on upgrade, so it must be deliberate.
TEST(MaglevTable, Golden) {
  const std::vector<MaglevBackend> backends{
      {"10.0.0.1:80", 1}, {"10.0.0.2:80", 1}, {"10.0.0.3:80", 1}};
  const auto table = buildMaglevTable(backends);
  ASSERT_EQ(table.size(), kMaglevTableSize);
  const std::vector<uint32_t> first(table.begin(), table.begin() + 12);
  EXPECT_EQ(first, (std::vector<uint32_t>{1, 0, 2, 1, 1, 0, 1, 0, 2, 2, 0, 2}));
}

TEST(MaglevTable, EqualWeightsEqualShares) {
  expectShares({1, 1, 1});
}

TEST(MaglevTable, SharesFollowWeights) {
  expectShares({1, 2, 3});
  expectShares({5, 1, 1, 3, 2, 1, 1, 4, 1, 1});
}

TEST(MaglevTable, WeightZeroGetsNoSlot) {
  const auto counts = countSlots(buildMaglevTable(backendsOf({1, 0, 2})));
  EXPECT_FALSE(counts.contains(1));
  EXPECT_EQ(counts.size(), 2u);
}

TEST(MaglevTable, NoUsableBackendGivesEmptyTable) {
  EXPECT_TRUE(buildMaglevTable({}).empty());
  EXPECT_TRUE(buildMaglevTable(backendsOf({0, 0})).empty());
}

TEST(MaglevTable, SizeMustBePrime) {
  const auto backends = backendsOf({1, 1});
  for (const uint32_t size : {0u, 1u, 4u, 1000u, 1023u})
    EXPECT_THROW(buildMaglevTable(backends, size), std::invalid_argument) << size;
  for (const uint32_t size : {2u, 3u, 251u, 65537u})
    EXPECT_EQ(buildMaglevTable(backends, size).size(), size);
}

// Removing one of five backends must move its own slots (1/5); it may move
// few others (Maglev's small extra disruption), here at most 5% of the
// table.
TEST(MaglevTable, RemovingABackendMovesFewOtherSlots) {
  const auto all = backendsOf({1, 1, 1, 1, 1});
  const auto before = keysOf(all);
  for (size_t removed = 0; removed < all.size(); ++removed) {
    auto fewer = all;
    fewer.erase(fewer.begin() + removed);
    const auto after = keysOf(fewer);
    const auto& key = all[removed].key;
    EXPECT_LE(movedOthers(before, after, key), kMaglevTableSize * 5 / 100) << key;
    size_t changed = 0;
    for (size_t i = 0; i < before.size(); ++i) changed += before[i] != after[i];
    EXPECT_LE(changed, kMaglevTableSize * (20 + 5) / 100) << key;
  }
}

TEST(MaglevTable, AddingABackendMovesFewOtherSlots) {
  const auto all = backendsOf({1, 1, 1, 1, 1});
  const std::vector<MaglevBackend> four(all.begin(), all.end() - 1);
  const auto before = keysOf(four);
  const auto after = keysOf(all);
  EXPECT_LE(movedOthers(before, after, all.back().key), kMaglevTableSize * 5 / 100);
  size_t changed = 0;
  for (size_t i = 0; i < before.size(); ++i) changed += before[i] != after[i];
  EXPECT_LE(changed, kMaglevTableSize * (20 + 5) / 100);
}

// A backend's slots depend on the keys, not on where it stands in the list.
TEST(MaglevTable, OrderOfBackendsDoesNotMoveSlots) {
  auto backends = backendsOf({1, 1, 1});
  const auto before = keysOf(backends);
  std::swap(backends[0], backends[2]);
  size_t moved = 0;
  const auto after = keysOf(backends);
  for (size_t i = 0; i < before.size(); ++i) moved += before[i] != after[i];
  EXPECT_LE(moved, kMaglevTableSize * 5 / 100);
}

TEST(MaglevFlowHash, PinnedValue) {
  if constexpr (std::endian::native != std::endian::little)
    GTEST_SKIP() << "the pinned value is a little-endian host's";
  EXPECT_EQ(flowHash(someTcpFlow()), 0x39bab30eu);
}

TEST(MaglevFlowHash, EveryFieldCounts) {
  const auto base = someTcpFlow();
  const auto hash = flowHash(base);
  std::vector<FlowTuple> changed;
  for (size_t i = 0; i < 4; ++i) {
    auto tuple = base;
    tuple.saddr[i] ^= 1;
    changed.push_back(tuple);
    tuple = base;
    tuple.daddr[i] ^= 1;
    changed.push_back(tuple);
  }
  auto tuple = base;
  tuple.sport = port(40001);
  changed.push_back(tuple);
  tuple = base;
  tuple.dport = port(5433);
  changed.push_back(tuple);
  tuple = base;
  tuple.protocol = 17; // IPPROTO_UDP
  changed.push_back(tuple);
  tuple = base;
  tuple.family = POLC_FAMILY_IPV6;
  changed.push_back(tuple);
  tuple = base; // the reverse direction is another flow
  std::swap(tuple.saddr, tuple.daddr);
  std::swap(tuple.sport, tuple.dport);
  changed.push_back(tuple);
  for (size_t i = 0; i < changed.size(); ++i) EXPECT_NE(flowHash(changed[i]), hash) << i;
}

// Flows from one client's source ports through the hash and the table land
// on the backends in proportion to their weights.
TEST(MaglevFlowHash, FlowsSpreadByWeight) {
  const std::vector<uint32_t> weights{1, 2, 3};
  const auto table = buildMaglevTable(backendsOf(weights));
  std::map<uint32_t, size_t> flows;
  const size_t count = 30000;
  auto tuple = someTcpFlow();
  for (size_t i = 0; i < count; ++i) {
    tuple.sport = port(uint16_t(20000 + i));
    const auto slot = pickBackendSlot(flowHash(tuple), uint32_t(table.size()));
    ASSERT_LT(slot, table.size());
    ++flows[table[slot]];
  }
  for (size_t i = 0; i < weights.size(); ++i)
    EXPECT_NEAR(double(flows[uint32_t(i)]) / count, weights[i] / 6.0, 0.02) << i;
}

} // namespace
} // namespace polc::services
