// The compile cache's bound (compile_cache.h): sizes as --cache-max takes
// them, least-recently-used order (a hit refreshes an entry), eviction to
// the bound that touches nothing but the layout's entries and takes in its
// stride what concurrent builds do meanwhile (an entry gone, an entry used).
#include "polc/driver/compile_cache.h"

#include "polc/support/files.h"

#include "temp_dir.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>

namespace polc::driver {
namespace {

namespace fs = std::filesystem;

TEST(CacheSize, ParsesBytesAndBinaryUnits) {
  EXPECT_EQ(*parseCacheSize("123"), 123u);
  EXPECT_EQ(*parseCacheSize("100K"), 100u * 1024);
  EXPECT_EQ(*parseCacheSize("100k"), 100u * 1024);
  EXPECT_EQ(*parseCacheSize("512M"), 512u << 20);
  EXPECT_EQ(*parseCacheSize("512MiB"), 512u << 20);
  EXPECT_EQ(*parseCacheSize("2G"), uint64_t{2} << 30);
  EXPECT_EQ(*parseCacheSize("2gib"), uint64_t{2} << 30);
  EXPECT_EQ(*parseCacheSize("3T"), uint64_t{3} << 40);
  EXPECT_EQ(*parseCacheSize("unlimited"), kUnlimitedCacheBytes);
  EXPECT_EQ(*parseCacheSize("Unlimited"), kUnlimitedCacheBytes);
  EXPECT_EQ(*parseCacheSize("16777215T"), ((uint64_t{1} << 24) - 1) << 40);
}

TEST(CacheSize, RefusesWhatIsNotASize) {
  for (const char* text :
       {"", "M", "abc", "-1", "+5", "1.5G", " 1G", "1G ", "1X", "1MB", "1 M", "1Gi", "0x10"}) {
    auto size = parseCacheSize(text);
    ASSERT_FALSE(size) << text;
    EXPECT_NE(size.error().find("expected a whole number of bytes"), std::string::npos)
        << size.error();
  }
  auto huge = parseCacheSize("99999999999999999999");
  ASSERT_FALSE(huge);
  EXPECT_NE(huge.error().find("too large"), std::string::npos) << huge.error();
  auto overflowing = parseCacheSize("16777216T"); // 2^64
  ASSERT_FALSE(overflowing);
  EXPECT_NE(overflowing.error().find("too large"), std::string::npos) << overflowing.error();
  for (const char* zero : {"0", "0M", "000"}) {
    auto size = parseCacheSize(zero);
    ASSERT_FALSE(size) << zero;
    EXPECT_NE(size.error().find("a bound of 0 would keep nothing"), std::string::npos)
        << size.error();
  }
}

TEST(CacheSize, FormatsForAPerson) {
  EXPECT_EQ(formatCacheSize(0), "0 B");
  EXPECT_EQ(formatCacheSize(1023), "1023 B");
  EXPECT_EQ(formatCacheSize(1024), "1 KiB");
  EXPECT_EQ(formatCacheSize(85448), "83.4 KiB");
  EXPECT_EQ(formatCacheSize(kDefaultCacheMaxBytes), "1 GiB");
  EXPECT_EQ(formatCacheSize(uint64_t{3} << 40), "3 TiB");
  EXPECT_EQ(formatCacheSize(kUnlimitedCacheBytes), "unlimited");
  EXPECT_EQ(formatCacheTime(CacheTime{}), "1970-01-01T00:00:00Z");
  EXPECT_EQ(
      formatCacheTime(CacheTime(std::chrono::seconds(1738324805)) + std::chrono::milliseconds(999)),
      "2025-01-31T12:00:05Z");
}

// An eviction's counts, to compare in one line.
std::string counts(const EvictionReport& report) {
  return "removed " + std::to_string(report.removed) + " (" + std::to_string(report.removedBytes) +
         " B), left " + std::to_string(report.entries) + " (" + std::to_string(report.bytes) +
         " B), failed " + std::to_string(report.failed);
}

class CompileCacheTest : public ::testing::Test {
protected:
  void SetUp() override { ::clock_gettime(CLOCK_REALTIME, &now_); }

  // A key of the layout: 64 times the hex digit `digit`.
  static std::string key(char digit) { return std::string(64, digit); }

  // Stores `bytes` bytes under key(digit), last used `secondsAgo` ago.
  void put(char digit, size_t bytes, int secondsAgo) {
    ASSERT_TRUE(cache().store(key(digit), std::string(bytes, 'x')));
    setLastUse(cache().objectPath(key(digit)), secondsAgo);
  }
  // Entries 'a', 'b', ... of these sizes, 'a' used longest ago (by 100 s
  // steps, the last one 100 s ago).
  void putOldestFirst(const std::vector<size_t>& sizes) {
    for (size_t i = 0; i < sizes.size(); ++i)
      put(static_cast<char>('a' + i), sizes[i], static_cast<int>(100 * (sizes.size() - i)));
  }
  // Relative to one moment of the test, so that differences are exact.
  void setLastUse(const fs::path& path, int secondsAgo) const {
    struct timespec times[2]{};
    times[0] = now_;
    times[0].tv_sec -= secondsAgo;
    times[1] = times[0];
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << path;
  }
  bool cached(char digit) const { return fs::exists(cache().objectPath(key(digit))); }
  // The digits of the keys still cached, of those put() takes here.
  std::string cachedKeys() const {
    std::string digits;
    for (char digit : std::string("abcd"))
      if (cached(digit)) digits += digit;
    return digits;
  }

  CompileCache cache() const { return CompileCache(root_); }
  polc::testing::TempDir scratch_{"compile-cache-test"};
  const fs::path& root_ = scratch_.path();
  struct timespec now_ {};
};

TEST_F(CompileCacheTest, AHitReturnsTheObjectAndMarksItUsed) {
  EXPECT_FALSE(cache().lookup(key('a')));
  put('a', 10, 3600);
  const auto before = cache().entries()->front().lastUse;
  auto object = cache().lookup(key('a'));
  ASSERT_TRUE(object);
  EXPECT_EQ(*object, std::string(10, 'x'));
  const auto after = cache().entries()->front().lastUse;
  EXPECT_GE(after - before, std::chrono::minutes(59));
}

TEST_F(CompileCacheTest, ListsEntriesLeastRecentlyUsedFirstAndAHitMovesOneLast) {
  putOldestFirst({100, 100, 100});
  auto listed = cache().entries();
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ(listed->at(0).path, cache().objectPath(key('a')));
  EXPECT_EQ(listed->at(2).path, cache().objectPath(key('c')));

  ASSERT_TRUE(cache().lookup(key('a'))); // now the most recently used
  auto evicted = cache().evict(200);
  ASSERT_TRUE(evicted);
  EXPECT_EQ(evicted->removed, 1u);
  EXPECT_EQ(cachedKeys(), "ac");
}

TEST_F(CompileCacheTest, EvictsOldestUntilUnderTheBound) {
  putOldestFirst({400, 300, 200, 100});
  // Under the bound: nothing to do.
  auto unchanged = cache().evict(1000);
  ASSERT_TRUE(unchanged);
  EXPECT_EQ(counts(*unchanged), "removed 0 (0 B), left 4 (1000 B), failed 0");

  auto evicted = cache().evict(350);
  ASSERT_TRUE(evicted);
  EXPECT_EQ(counts(*evicted), "removed 2 (700 B), left 2 (300 B), failed 0");
  EXPECT_EQ(cachedKeys(), "cd");

  auto unlimited = cache().evict(kUnlimitedCacheBytes);
  ASSERT_TRUE(unlimited);
  EXPECT_EQ(counts(*unlimited), "removed 0 (0 B), left 2 (300 B), failed 0");

  auto cleared = cache().evict(0);
  ASSERT_TRUE(cleared);
  EXPECT_EQ(counts(*cleared), "removed 2 (300 B), left 0 (0 B), failed 0");
}

TEST_F(CompileCacheTest, TouchesNothingButTheLayoutsEntries) {
  put('a', 100, 100);
  const auto entryDir = cache().objectPath(key('a')).parent_path();
  const std::vector<fs::path> strangers = {
      cache().objectPath(key('b')).string() + ".tmp.1234.0", // another build's temporary
      entryDir / "notes.txt",
      entryDir / (key('a').substr(0, 63) + ".o"), // too short
      entryDir / (std::string(64, 'A') + ".o"),   // not lowercase
      entryDir / (key('c') + ".o"),               // in the wrong directory
      root_ / "objects" / "zz" / (std::string(2, 'z') + std::string(62, 'a') + ".o"),
      root_ / "objects" / (key('d') + ".o"), // not in a prefix directory
      root_ / "clang" / (key('e') + ".version"),
  };
  for (const auto& path : strangers) ASSERT_TRUE(writeFile(path, "stranger")) << path;
  // A symlink and a directory named as entries; a prefix directory that is
  // a symlink to entries elsewhere.
  const auto named = [&](char digit) {
    return entryDir / (key('a').substr(0, 2) + std::string(62, digit) + ".o");
  };
  fs::create_symlink(strangers[1], named('f'));
  fs::create_directories(named('0'));
  const auto elsewhere = root_ / "elsewhere" / (key('e') + ".o");
  ASSERT_TRUE(writeFile(elsewhere, "stranger"));
  fs::create_directory_symlink(elsewhere.parent_path(), root_ / "objects" / "ee");

  auto listed = cache().entries();
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().path, cache().objectPath(key('a')));
  auto cleared = cache().evict(0);
  ASSERT_TRUE(cleared);
  EXPECT_EQ(counts(*cleared), "removed 1 (100 B), left 0 (0 B), failed 0");
  EXPECT_FALSE(cached('a'));
  for (const auto& path : strangers) EXPECT_TRUE(fs::exists(path)) << path;
  EXPECT_TRUE(fs::is_symlink(named('f')));
  EXPECT_TRUE(fs::is_directory(named('0')));
  EXPECT_TRUE(fs::exists(elsewhere));
}

TEST_F(CompileCacheTest, AnEntryGoneSinceListedCountsAsGone) {
  putOldestFirst({100, 100, 100});
  auto listed = cache().entries();
  ASSERT_TRUE(listed);
  fs::remove(cache().objectPath(key('a'))); // another build evicted it
  const auto report = cache().evict(*listed, 150);
  // b; a was gone, not removed by this eviction.
  EXPECT_EQ(counts(report), "removed 1 (100 B), left 1 (100 B), failed 0");
  EXPECT_FALSE(report.firstFailure);
  EXPECT_EQ(cachedKeys(), "c");
}

TEST_F(CompileCacheTest, AnEntryUsedOrRewrittenSinceListedStays) {
  putOldestFirst({100, 100, 100, 100});
  auto listed = cache().entries();
  ASSERT_TRUE(listed);
  ASSERT_TRUE(cache().lookup(key('a')));              // a build hit it
  ASSERT_TRUE(cache().store(key('b'), "recompiled")); // a build wrote it anew
  const auto report = cache().evict(*listed, 100);
  EXPECT_EQ(cachedKeys(), "ab");
  EXPECT_EQ(counts(report), "removed 2 (200 B), left 2 (200 B), failed 0");
}

TEST_F(CompileCacheTest, StatsCountEntriesBytesAndUses) {
  auto empty = CompileCache(root_ / "never-created").stats();
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->entries, 0u);
  EXPECT_EQ(empty->bytes, 0u);
  EXPECT_FALSE(empty->oldestUse);
  EXPECT_FALSE(empty->newestUse);

  put('a', 100, 3600);
  put('b', 50, 60);
  put('c', 7, 600);
  auto stats = cache().stats();
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->entries, 3u);
  EXPECT_EQ(stats->bytes, 157u);
  ASSERT_TRUE(stats->oldestUse && stats->newestUse);
  EXPECT_EQ(*stats->newestUse - *stats->oldestUse, std::chrono::seconds(3540));
}

TEST_F(CompileCacheTest, ACacheThatCannotBeReadIsAnError) {
  ASSERT_TRUE(writeFile(root_ / "objects", "not a directory"));
  auto stats = cache().stats();
  ASSERT_FALSE(stats);
  EXPECT_NE(stats.error().find("cannot read " + (root_ / "objects").string()), std::string::npos)
      << stats.error();
}

} // namespace
} // namespace polc::driver
