// Line-by-line deltas of table files (artifacts/table_lines.h): over random
// edits, the removed and added entries turn the old table into the new one;
// texts a delta cannot trust give nullopt (the loader then reads whole).
#include "polc/artifacts/table_lines.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <netinet/in.h>

#include <algorithm>
#include <random>
#include <set>

namespace polc::artifacts {
namespace {

PolicyEntry randomEntry(std::mt19937& random) {
  const auto identity = static_cast<uint32_t>(256 + random() % 40);
  const auto rule = static_cast<uint32_t>(random() % 9);
  switch (random() % 3) {
  case 0:
    return {identity, 0, 0, 0, random() % 2 ? Verdict::Allow : Verdict::Deny, rule};
  case 1:
    return {identity, IPPROTO_TCP, uint16_t(random() % 8 * 1000), 16, Verdict::Allow, rule};
  default:
    return {identity, IPPROTO_UDP, 0x1000, 4, Verdict::Deny, rule};
  }
}

PolicyTable tableOf(const std::set<PolicyEntry>& entries) {
  return PolicyTable{true, {entries.begin(), entries.end()}};
}

TEST(TableLines, PolicyDeltaTurnsTheOldTableIntoTheNewOverRandomEdits) {
  std::mt19937 random(17);
  for (int round = 0; round < 300; ++round) {
    std::set<PolicyEntry> before, after;
    for (int i = random() % 40; i > 0; --i) before.insert(randomEntry(random));
    after = before;
    for (int edits = random() % 6; edits > 0; --edits) {
      if (!after.empty() && random() % 2) {
        auto it = after.begin();
        std::advance(it, random() % after.size());
        after.erase(it);
      } else {
        after.insert(randomEntry(random));
      }
    }
    auto delta = policyTableDelta(toJsonText(tableOf(before)), toJsonText(tableOf(after)));
    ASSERT_TRUE(delta) << "round " << round;
    auto applied = before;
    for (const auto& entry : delta->removed) EXPECT_EQ(applied.erase(entry), 1u);
    for (const auto& entry : delta->added) EXPECT_TRUE(applied.insert(entry).second);
    EXPECT_EQ(applied, after) << "round " << round;
    EXPECT_EQ(delta->entries, after.size());
    EXPECT_LE(delta->removed.size() + delta->added.size(), 2 * 5u);
  }
}

TEST(TableLines, OnlyTheLinesThatDifferCount) {
  std::set<PolicyEntry> before;
  for (uint32_t i = 0; i < 1000; ++i)
    before.insert({256 + i, IPPROTO_UDP, uint16_t(10000 + i), 16, Verdict::Allow, i});
  auto after = before;
  after.erase(after.begin());
  after.insert({5000, IPPROTO_TCP, 80, 16, Verdict::Allow, 7});
  auto delta = policyTableDelta(toJsonText(tableOf(before)), toJsonText(tableOf(after)));
  ASSERT_TRUE(delta);
  EXPECT_EQ(delta->removed, (std::vector<PolicyEntry>{*before.begin()}));
  EXPECT_EQ(delta->added,
            (std::vector<PolicyEntry>{{5000, IPPROTO_TCP, 80, 16, Verdict::Allow, 7}}));
  // The old text cut after its entries (what a load keeps) is enough.
  const auto old = toJsonText(tableOf(before));
  auto part = entriesPart(old);
  ASSERT_TRUE(part);
  EXPECT_LT(part->size(), old.size());
  auto fromPart = policyTableDelta(*part, toJsonText(tableOf(after)));
  ASSERT_TRUE(fromPart);
  EXPECT_EQ(fromPart->added, delta->added);
  EXPECT_EQ(fromPart->removed, delta->removed);
}

TEST(TableLines, TextsADeltaCannotTrustGiveNothing) {
  const std::set<PolicyEntry> entries{{256, IPPROTO_TCP, 80, 16, Verdict::Allow, 1},
                                      {257, IPPROTO_TCP, 80, 16, Verdict::Allow, 2}};
  const auto text = toJsonText(tableOf(entries));
  // The library's indented layout, a bad line.
  EXPECT_FALSE(policyTableDelta(text, nlohmann::json::parse(text).dump(2)));
  auto broken = text;
  broken.replace(broken.find("\"tcp\""), 5, "\"xyz\"");
  EXPECT_FALSE(policyTableDelta(toJsonText(tableOf({})), broken));
  // An added entry out of order (the loader would not know every key once).
  auto unsorted = text;
  const auto first = unsorted.find("\"identity\": 256");
  unsorted.replace(first, 15, "\"identity\": 999");
  EXPECT_FALSE(policyTableDelta(text, unsorted));
}

TEST(TableLines, IpcacheDeltaAndPrefixLengths) {
  Ipcache before{{{4, "10.0.0.1", 32, 300}, {4, "10.0.1.0", 24, 301}, {6, "fd00::1", 128, 302}}};
  Ipcache after{{{4, "10.0.0.1", 32, 300}, {4, "10.0.0.2", 32, 303}, {6, "fd00::", 64, 304}}};
  auto delta = ipcacheDelta(toJsonText(before), toJsonText(after));
  ASSERT_TRUE(delta);
  EXPECT_EQ(delta->removed, (std::vector<IpcacheEntry>{before.entries[1], before.entries[2]}));
  EXPECT_EQ(delta->added, (std::vector<IpcacheEntry>{after.entries[1], after.entries[2]}));
  EXPECT_EQ(delta->entries, 3u);
  EXPECT_EQ(ipcachePrefixLengths(toJsonText(before)), (PrefixLengths{{24, 32}, {128}}));
  EXPECT_EQ(ipcachePrefixLengths(toJsonText(after)), (PrefixLengths{{32}, {64}}));
  EXPECT_EQ(ipcachePrefixLengths(toJsonText(Ipcache{})), (PrefixLengths{}));
}

} // namespace
} // namespace polc::artifacts
