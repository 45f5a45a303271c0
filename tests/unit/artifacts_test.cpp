#include "polc/artifacts/digest.h"
#include "polc/artifacts/manifest.h"
#include "polc/artifacts/tables.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include <netinet/in.h>
#include <unistd.h>

namespace polc::artifacts {
namespace {

namespace fs = std::filesystem;

TEST(Digest, KnownValue) {
  EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(PolicyTableJson, RoundTrips) {
  PolicyTable table{
      true, {{300, IPPROTO_TCP, 8000, 12, Verdict::Allow, 4}, {0, 0, 0, 0, Verdict::Deny, 5}}};
  auto back = policyTableFromJson(toJson(table));
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, table);
  EXPECT_FALSE(policyTableFromJson(nlohmann::json{{"endpoint", 1}}));
}

// Numbers out of a field's range are errors, never wrapped or cast: a port
// of 70000 read as 4464, a float as an integer (undefined behaviour for 1e76,
// found by fuzz_manifest).
TEST(PolicyTableJson, NumbersOutOfRangeAreErrors) {
  PolicyTable table{true, {{300, IPPROTO_TCP, 80, 16, Verdict::Allow, 4}}};
  const auto good = toJson(table);
  ASSERT_TRUE(policyTableFromJson(good));
  const std::vector<std::pair<std::string, nlohmann::json>> bad = {{"port", 70000},
                                                                   {"port", -1},
                                                                   {"port", 1e76},
                                                                   {"port", 80.5},
                                                                   {"identity", -1},
                                                                   {"rule", 4294967296},
                                                                   {"port_prefix_bits", 256},
                                                                   {"port", "80"}};
  for (const auto& [key, value] : bad) {
    auto modified = good;
    modified["entries"][0][key] = value;
    auto read = policyTableFromJson(modified);
    ASSERT_FALSE(read) << key << " = " << value.dump();
    EXPECT_NE(read.error().find(key), std::string::npos) << read.error();
  }
  // An older build's table, which named its endpoint and rules, still reads.
  auto older = good;
  older["endpoint"] = "web-1";
  older["direction"] = "ingress";
  older["rules"] = {{{"id", 4}, {"policy", "web"}, {"text", "allow"}, {"location", "p.pol:3:5"}}};
  auto read = policyTableFromJson(older);
  ASSERT_TRUE(read) << read.error();
  EXPECT_EQ(*read, table);
}

TEST(IpcacheJson, PrefixLengthsAndIdentitiesAreChecked) {
  auto ipcache = [](nlohmann::json prefix, nlohmann::json identity) {
    return ipcacheFromJson({{"entries", {{{"prefix", prefix}, {"identity", identity}}}}});
  };
  EXPECT_TRUE(ipcache("10.0.0.0/8", 7));
  EXPECT_TRUE(ipcache("fd00::/128", 7));
  for (const char* prefix : {"10.0.0.0/8x", "10.0.0.0/ 8", "10.0.0.0/", "10.0.0.0/33", "fd00::/129",
                             "10.0.0.0/99999999999", "10.0.0.0"})
    EXPECT_FALSE(ipcache(prefix, 7)) << prefix;
  EXPECT_FALSE(ipcache("10.0.0.0/8", -1));
  EXPECT_FALSE(ipcache("10.0.0.0/8", 7.5));
}

class ManifestOnDisk : public ::testing::Test {
protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("polc-manifest-test-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    ASSERT_TRUE(writeFile(dir / "nodes/n/ipcache.json", "{}\n"));
    ASSERT_TRUE(writeFile(dir / "nodes/n/endpoints/e/ingress.json", "in\n"));
    ASSERT_TRUE(writeFile(dir / "nodes/n/endpoints/e/egress.json", "eg\n"));
    manifest.polcVersion = "test";
    manifest.cluster = "c";
    EndpointArtifacts ep{"e",
                         "v1",
                         300,
                         std::nullopt,
                         false,
                         false,
                         "",
                         "nodes/n/endpoints/e/ingress.json",
                         "nodes/n/endpoints/e/egress.json"};
    manifest.nodes.push_back({"n", "10.0.0.1", "nodes/n/ipcache.json", {ep}});
    for (auto path : {"nodes/n/ipcache.json", "nodes/n/endpoints/e/ingress.json",
                      "nodes/n/endpoints/e/egress.json"})
      manifest.files[path] = *sha256OfFile(dir / path);
    ASSERT_TRUE(writeFile(dir / "manifest.json", dumpJson(toJson(manifest))));
  }
  void TearDown() override { fs::remove_all(dir); }

  fs::path dir;
  Manifest manifest;
};

TEST_F(ManifestOnDisk, RoundTripsAndVerifies) {
  auto read = readManifest(dir);
  ASSERT_TRUE(read) << read.error();
  EXPECT_EQ(*read, manifest);
  EXPECT_TRUE(verifyManifest(dir, *read));
}

TEST_F(ManifestOnDisk, InlineTablesRoundTripAndUnknownOnesAreRefused) {
  manifest.nodes[0].endpoints[0].ingressInline = true;
  auto json = toJson(manifest);
  EXPECT_EQ(json["nodes"][0]["endpoints"][0]["inline_tables"], nlohmann::json::array({"ingress"}));
  auto back = manifestFromJson(json);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, manifest);
  json["nodes"][0]["endpoints"][0]["inline_tables"] = {"sideways"};
  auto refused = manifestFromJson(json);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("unknown inline table \"sideways\""), std::string::npos)
      << refused.error();
}

TEST_F(ManifestOnDisk, AddressesRoundTripAreOptionalAndMustBeAddresses) {
  manifest.nodes[0].endpoints[0].addresses = {"10.0.1.20", "fd00::20"};
  auto json = toJson(manifest);
  auto back = manifestFromJson(json);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, manifest);
  json["nodes"][0]["endpoints"][0].erase("addresses"); // a build before they were listed
  auto older = manifestFromJson(json);
  ASSERT_TRUE(older) << older.error();
  EXPECT_TRUE(older->nodes[0].endpoints[0].addresses.empty());
  json["nodes"][0]["endpoints"][0]["addresses"] = {"10.0.1.300"};
  auto refused = manifestFromJson(json);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("\"10.0.1.300\" is not an IPv4 or IPv6 address"),
            std::string::npos)
      << refused.error();
}

TEST_F(ManifestOnDisk, AnOlderSchemaIsRefusedWithBothNumbers) {
  auto json = toJson(manifest);
  json["schema"] = 2; // its loader would not fill inline tables
  auto refused = manifestFromJson(json);
  ASSERT_FALSE(refused);
  json["schema"] = 3; // per-endpoint tables: still read
  EXPECT_TRUE(manifestFromJson(json));
  EXPECT_NE(
      refused.error().find("manifest schema 2 is not supported (this polc reads schemas 3 to 4)"),
      std::string::npos)
      << refused.error();
}

TEST_F(ManifestOnDisk, TamperedAndMissingFilesAreNamed) {
  ASSERT_TRUE(writeFile(dir / "nodes/n/endpoints/e/ingress.json", "changed\n"));
  fs::remove(dir / "nodes/n/ipcache.json");
  auto status = verifyManifest(dir, manifest);
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().find("ingress.json: digest mismatch"), std::string::npos)
      << status.error();
  EXPECT_NE(status.error().find("ipcache.json: missing"), std::string::npos) << status.error();
}

TEST_F(ManifestOnDisk, DigestIsOfTheBytesRead) {
  std::string sha256;
  ASSERT_TRUE(readManifest(dir, &sha256));
  EXPECT_EQ(sha256, *sha256OfFile(dir / "manifest.json"));
}

TEST_F(ManifestOnDisk, VerificationSharedBetweenThreadsFindsWhatOneThreadFinds) {
  ASSERT_TRUE(writeFile(dir / "nodes/n/endpoints/e/egress.json", "changed\n"));
  ManifestVerification verification(dir, manifest);
  std::thread helper([&] { verification.work(); });
  verification.work();
  helper.join();
  auto shared = verification.result();
  ASSERT_FALSE(shared);
  EXPECT_EQ(shared.error(), verifyManifest(dir, manifest).error());
}

TEST(ManifestText, MalformedManifestNamesTheKey) {
  auto text = dumpJson(toJson(Manifest{}));
  auto missing =
      manifestFromText(std::string(text).replace(text.find("\"cluster\""), 9, "\"klaster\""));
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("malformed manifest: key \"cluster\" missing"), std::string::npos)
      << missing.error();
  const std::string current = "\"schema\": " + std::to_string(kManifestSchema);
  auto schema = manifestFromText(
      std::string(text).replace(text.find(current), current.size(), "\"schema\": 9"));
  ASSERT_FALSE(schema);
  EXPECT_NE(schema.error().find("manifest schema 9 is not supported"), std::string::npos)
      << schema.error();
  auto broken = manifestFromText("{\"schema\": ");
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.error().find("not valid JSON"), std::string::npos) << broken.error();
}

// Files are opened below the output directory only, and read once: the
// bytes that were hashed are the ones the loader gets.
TEST_F(ManifestOnDisk, FilesOutsideTheDirectoryOrNotRegularAreRefused) {
  const auto outside = dir.string() + "-outside";
  ASSERT_TRUE(writeFile(fs::path(outside) / "ipcache.json", "{}\n"));
  fs::remove(dir / "nodes/n/ipcache.json");
  fs::create_symlink(fs::path(outside) / "ipcache.json", dir / "nodes/n/ipcache.json");
  auto escaped = verifyManifest(dir, manifest);
  ASSERT_FALSE(escaped);
  EXPECT_NE(escaped.error().find("nodes/n/ipcache.json: cannot read " +
                                 (dir / "nodes/n/ipcache.json").string() +
                                 ": its path leads outside the directory"),
            std::string::npos)
      << escaped.error();
  fs::remove_all(outside);

  fs::remove(dir / "nodes/n/ipcache.json");
  fs::create_symlink("/dev/zero", dir / "nodes/n/ipcache.json");
  auto device = verifyManifest(dir, manifest);
  ASSERT_FALSE(device);
  EXPECT_NE(device.error().find("its path leads outside the directory"), std::string::npos)
      << device.error();

  // A symlink that stays inside is followed.
  fs::remove(dir / "nodes/n/ipcache.json");
  ASSERT_TRUE(writeFile(dir / "nodes/n/real.json", "{}\n"));
  fs::create_symlink("real.json", dir / "nodes/n/ipcache.json");
  EXPECT_TRUE(verifyManifest(dir, manifest));

  manifest.files["../manifest.json"] = manifest.files.begin()->second;
  auto dotdot = verifyManifest(dir, manifest);
  ASSERT_FALSE(dotdot);
  EXPECT_NE(dotdot.error().find("../manifest.json: cannot read"), std::string::npos)
      << dotdot.error();
}

TEST_F(ManifestOnDisk, VerifiedBytesAreKeptForTheFilesAsked) {
  ManifestVerification verification(dir, manifest, {"nodes/n/endpoints/e/ingress.json"});
  verification.work();
  ASSERT_TRUE(verification.result());
  // Changed on disk after the check: the verification still holds what it hashed.
  ASSERT_TRUE(writeFile(dir / "nodes/n/endpoints/e/ingress.json", "swapped\n"));
  const auto* kept = verification.verifiedBytes("nodes/n/endpoints/e/ingress.json");
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(*kept, "in\n");
  EXPECT_EQ(verification.verifiedBytes("nodes/n/endpoints/e/egress.json"), nullptr);
  EXPECT_EQ(verification.verifiedBytes("nodes/n/none.json"), nullptr);
}

TEST(ManifestText, FieldsOutOfRangeAreRefused) {
  Manifest manifest;
  EndpointArtifacts ep{"e", "v1", 300, std::nullopt, false, false, "", "in.json", "eg.json"};
  manifest.nodes.push_back({"n", "10.0.0.1", "ipcache.json", {ep}});
  auto refusedWith = [](const Manifest& m, const std::string& expected) {
    auto read = manifestFromText(dumpJson(toJson(m)));
    ASSERT_FALSE(read) << expected;
    EXPECT_NE(read.error().find(expected), std::string::npos) << read.error();
  };
  EXPECT_TRUE(manifestFromText(dumpJson(toJson(manifest))));
  auto bad = manifest;
  bad.nodes[0].endpoints[0].interface = "eth0 ; x";
  refusedWith(bad, "endpoint e: \"eth0 ; x\" is not an interface name");
  bad = manifest;
  bad.nodes[0].endpoints[0].identity = 5;
  refusedWith(bad, "endpoint e: identity 5 is not an endpoint identity (256 to 16777215)");
  bad = manifest;
  bad.files["/etc/passwd"] = std::string(64, 'a');
  refusedWith(bad, "file \"/etc/passwd\" is not a relative path");
  bad = manifest;
  bad.files["x.json"] = "abc";
  refusedWith(bad, "file x.json: \"abc\" is not a SHA-256 digest");
  auto json = toJson(manifest);
  json["nodes"][0]["endpoints"][0]["identity"] = 1ull << 40;
  auto huge = manifestFromText(json.dump());
  ASSERT_FALSE(huge);
  EXPECT_NE(huge.error().find("\"identity\" is not an integer in range"), std::string::npos)
      << huge.error();
}

// What the issue saw truncated into map keys is named with its value; an
// entry the map's key masking would change is refused, not loaded changed.
TEST(PolicyTableJson, OutOfRangeIsNamedAndNonCanonicalEntriesAreRefused) {
  PolicyTable table{true, {{300, IPPROTO_TCP, 80, 16, Verdict::Allow, 4}}};
  auto refusedWith = [&](const char* key, nlohmann::json value, const std::string& expected) {
    auto j = toJson(table);
    j["entries"][0][key] = value;
    auto read = policyTableFromJson(j);
    ASSERT_FALSE(read) << key;
    EXPECT_NE(read.error().find(expected), std::string::npos) << read.error();
  };
  refusedWith("identity", 1ull << 40,
              "\"identity\" is 1099511627776, not an integer from 0 to 4294967295");
  refusedWith("port", 70000, "\"port\" is 70000, not an integer from 0 to 65535");
  refusedWith("port_prefix_bits", 8, "port 80 has bits set below its prefix of 8 bits");
  refusedWith("protocol", "any", "a port without a protocol");
  // 0 is the wildcard peer of a policy table, never the identity of an address.
  auto ipcache = toJson(Ipcache{{{4, "10.0.0.1", 32, 300}}});
  ipcache["entries"][0]["identity"] = 0;
  EXPECT_FALSE(ipcacheFromJson(ipcache));
}

TEST_F(ManifestOnDisk, UnlistedReferenceIsRefused) {
  manifest.files.erase("nodes/n/endpoints/e/egress.json");
  auto status = verifyManifest(dir, manifest);
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().find("referenced but has no digest"), std::string::npos);
}

} // namespace
} // namespace polc::artifacts

namespace polc::artifacts {
namespace {

// The fast writers give the same JSON as toJson(...), with one entry per
// line: names and rule texts with quotes, backslashes, control characters
// and UTF-8.
void expectSameJsonOneEntryPerLine(const std::string& text, const nlohmann::json& library,
                                   size_t objects) {
  EXPECT_EQ(nlohmann::json::parse(text), library);
  size_t lines = 0;
  for (size_t at = text.find("\n    {"); at != std::string::npos;
       at = text.find("\n    {", at + 1)) {
    const auto end = text.find('\n', at + 1);
    EXPECT_TRUE(text.compare(end - 1, 1, "}") == 0 || text.compare(end - 2, 2, "},") == 0) << text;
    ++lines;
  }
  EXPECT_EQ(lines, objects) << text;
}
TEST(JsonText, PolicyTableIsTheLibrarysJsonOneEntryPerLine) {
  PolicyTable empty{false, {}};
  expectSameJsonOneEntryPerLine(toJsonText(empty), toJson(empty), 0);
  PolicyTable table{true,
                    {{0, 0, 0, 0, Verdict::Deny, 0},
                     {300, IPPROTO_TCP, 8000, 12, Verdict::Allow, 4},
                     {4294967295u, IPPROTO_ICMP, 0x0800, 8, Verdict::Allow, 7},
                     {12, IPPROTO_UDP, 65535, 16, Verdict::Deny, 4294967295u}}};
  expectSameJsonOneEntryPerLine(toJsonText(table), toJson(table), 4);
}

TEST(JsonText, RuleListIsTheLibrarysJsonOneRulePerLine) {
  RuleList empty;
  expectSameJsonOneEntryPerLine(toJsonText(empty), toJson(empty), 0);
  RuleList list{{{4, "web\\x", "allow to app == \"x\" on tcp/8000-8015", "p.pol:3:5"},
                 {7, "tab\there", "line\nbreak \x01 ∀", "dir/ä.pol:10:1"}}};
  expectSameJsonOneEntryPerLine(toJsonText(list), toJson(list), 2);
  auto back = ruleListFromJson(toJson(list));
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, list);
  EXPECT_FALSE(ruleListFromJson(nlohmann::json{{"rules", {{{"id", -1}}}}}));
}

TEST(JsonText, IpcacheIsTheLibrarysJsonOneEntryPerLine) {
  Ipcache empty;
  expectSameJsonOneEntryPerLine(toJsonText(empty), toJson(empty), 0);
  Ipcache ipcache{{{4, "10.0.0.1", 32, 1}, {4, "10.0.0.0", 8, 16777217}, {6, "fd00::10", 128, 5}}};
  expectSameJsonOneEntryPerLine(toJsonText(ipcache), toJson(ipcache), 3);
}

} // namespace
} // namespace polc::artifacts
