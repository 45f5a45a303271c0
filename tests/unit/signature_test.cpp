// Signed build outputs (artifacts/signature.h): what verifies, and that
// every way of getting it wrong is refused with a message that says which.
#include "polc/artifacts/digest.h"
#include "polc/artifacts/manifest.h"
#include "polc/artifacts/signature.h"
#include "polc/support/files.h"

#include "temp_dir.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

namespace polc::artifacts {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A small build output: one file and a manifest listing it.
class Signatures : public ::testing::Test {
protected:
  void SetUp() override {
    fs::create_directories(out());
    writeOutput("hello\n");
    ci_ = makeKey("ci", std::nullopt);
    other_ = makeKey("other", std::nullopt);
  }

  fs::path out() const { return dir_.path() / "out"; }

  void writeOutput(const std::string& contents) {
    ASSERT_TRUE(writeFile(out() / "a.txt", contents));
    std::string manifest = R"({"schema":4,"polc_version":"0.1.0","cluster":"c","inputs":{},)"
                           R"("nodes":[],"files":{"a.txt":")" +
                           sha256Hex(contents) + "\"}}\n";
    ASSERT_TRUE(writeFile(out() / "manifest.json", manifest));
  }

  fs::path makeKey(const std::string& name, std::optional<std::chrono::sys_days> expires) {
    auto pair = generateKeyPair(expires);
    EXPECT_TRUE(pair) << pair.error();
    auto files = writeKeyPair(dir_.path() / name, *pair, false);
    EXPECT_TRUE(files) << files.error();
    return dir_.path() / name;
  }

  static fs::path pub(const fs::path& prefix) { return prefix.string() + ".pub"; }
  static fs::path key(const fs::path& prefix) { return prefix.string() + ".key"; }

  // Verifies `out` as the loader does: the digest of the manifest bytes read.
  Expected<std::string>
  verify(const fs::path& trust,
         std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) {
    std::string sha256;
    auto manifest = readManifest(out(), &sha256);
    EXPECT_TRUE(manifest) << manifest.error();
    auto keys = readTrustedKeys(trust);
    if (!keys) return Error{keys.error()};
    return verifySignature(out(), sha256, *keys, now);
  }

  static std::string errorOf(const Expected<std::string>& result) {
    return result ? "(verified: " + *result + ")" : result.error();
  }

  testing::TempDir dir_{"signature-test"};
  fs::path ci_, other_;
};

TEST_F(Signatures, ASignedOutputVerifiesWithItsKey) {
  auto signer = signBuildOutput(out(), key(ci_));
  ASSERT_TRUE(signer) << signer.error();
  auto verified = verify(pub(ci_));
  ASSERT_TRUE(verified) << verified.error();
  EXPECT_EQ(*verified, *signer);
}

TEST_F(Signatures, ThePrivateKeyIsReadableByItsOwnerOnly) {
  struct stat status {};
  ASSERT_EQ(::stat(key(ci_).c_str(), &status), 0);
  EXPECT_EQ(status.st_mode & 0777, 0600u);
}

TEST_F(Signatures, KeygenRefusesToReplaceAKeyUnlessForced) {
  auto pair = generateKeyPair(std::nullopt);
  ASSERT_TRUE(pair);
  auto refused = writeKeyPair(ci_, *pair, false);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("exists"), std::string::npos) << refused.error();
  EXPECT_TRUE(writeKeyPair(ci_, *pair, true));
}

TEST_F(Signatures, AnUnsignedOutputIsRefused) {
  auto result = verify(pub(ci_));
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().find("is not signed"), std::string::npos) << result.error();
}

TEST_F(Signatures, AManifestChangedAfterSigningIsRefused) {
  ASSERT_TRUE(signBuildOutput(out(), key(ci_)));
  writeOutput("tampered\n"); // a consistent manifest again, but not the signed one
  auto result = verify(pub(ci_));
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().find("changed after it was signed"), std::string::npos)
      << result.error();
}

TEST_F(Signatures, ASignatureFileRewrittenForAnotherManifestDoesNotVerify) {
  ASSERT_TRUE(signBuildOutput(out(), key(ci_)));
  writeOutput("tampered\n");
  // The attacker also rewrites the digest the signature file names.
  std::string sha256;
  ASSERT_TRUE(readManifest(out(), &sha256));
  auto text = readFile(out() / kSignatureFile);
  ASSERT_TRUE(text);
  auto at = text->find("\"manifest_sha256\": \"") + 20;
  text->replace(at, 64, sha256);
  ASSERT_TRUE(writeFile(out() / kSignatureFile, *text));
  auto result = verify(pub(ci_));
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().find("does not verify"), std::string::npos) << result.error();
}

TEST_F(Signatures, AKeyNotTrustedIsRefused) {
  ASSERT_TRUE(signBuildOutput(out(), key(other_)));
  auto result = verify(pub(ci_));
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().find("not trusted"), std::string::npos) << result.error();
}

TEST_F(Signatures, SeveralTrustedKeysAtOnceAndARemovedKeyIsNoLongerTrusted) {
  auto trust = dir_.path() / "trusted";
  fs::create_directories(trust);
  fs::copy_file(pub(ci_), trust / "ci.pub");
  fs::copy_file(pub(other_), trust / "other.pub");
  ASSERT_TRUE(signBuildOutput(out(), key(other_)));
  EXPECT_TRUE(verify(trust)) << errorOf(verify(trust));
  ASSERT_TRUE(signBuildOutput(out(), key(ci_)));
  EXPECT_TRUE(verify(trust)) << errorOf(verify(trust));
  fs::remove(trust / "ci.pub"); // rotated out
  auto result = verify(trust);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().find("not trusted"), std::string::npos) << result.error();
}

TEST_F(Signatures, AKeyIsTrustedThroughItsExpiryDayAndNotAfter) {
  auto day = std::chrono::sys_days(std::chrono::year(2027) / 3 / 14);
  auto expiring = makeKey("expiring", day);
  ASSERT_TRUE(signBuildOutput(out(), key(expiring)));
  EXPECT_TRUE(verify(pub(expiring), day + 23h));
  auto result = verify(pub(expiring), day + 24h);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().find("expired after 2027-03-14"), std::string::npos) << result.error();
}

TEST_F(Signatures, ATruncatedSignatureIsRefused) {
  ASSERT_TRUE(signBuildOutput(out(), key(ci_)));
  auto text = readFile(out() / kSignatureFile);
  ASSERT_TRUE(text);
  for (size_t length : {size_t{0}, text->size() / 2, text->find("\"signature\"") + 40}) {
    ASSERT_TRUE(writeFile(out() / kSignatureFile, text->substr(0, length)));
    auto result = verify(pub(ci_));
    ASSERT_FALSE(result) << "length " << length;
    EXPECT_NE(result.error().find("malformed signature"), std::string::npos) << result.error();
  }
  // A complete JSON document whose signature lost its last bytes.
  std::string shortened = *text;
  shortened.erase(shortened.find("\"signature\"") + 20, 8);
  ASSERT_TRUE(writeFile(out() / kSignatureFile, shortened));
  auto result = verify(pub(ci_));
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().find("64 bytes"), std::string::npos) << result.error();
}

TEST_F(Signatures, SigningRefusesAnOutputThatDoesNotMatchItsManifest) {
  ASSERT_TRUE(writeFile(out() / "a.txt", "changed behind the manifest's back\n"));
  auto result = signBuildOutput(out(), key(ci_));
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().find("not signing"), std::string::npos) << result.error();
  EXPECT_FALSE(fs::exists(out() / kSignatureFile));
}

TEST_F(Signatures, PublicKeyFilesAreCheckedNotGuessed) {
  auto text = readFile(pub(ci_));
  ASSERT_TRUE(text);
  EXPECT_TRUE(parsePublicKey(*text, "ci.pub"));
  EXPECT_TRUE(parsePublicKey("# a comment\n" + *text, "ci.pub"));
  auto typo = parsePublicKey("expire: 2027-01-01\n" + *text, "ci.pub");
  ASSERT_FALSE(typo);
  EXPECT_NE(typo.error().find("unknown header \"expire\""), std::string::npos) << typo.error();
  auto badDate = parsePublicKey("expires: 2027-02-30\n" + *text, "ci.pub");
  ASSERT_FALSE(badDate);
  EXPECT_NE(badDate.error().find("not a date"), std::string::npos) << badDate.error();
  auto otherText = readFile(pub(other_));
  ASSERT_TRUE(otherText);
  // The id line of one key above the PEM block of another.
  auto swapped = parsePublicKey(text->substr(0, text->find('\n') + 1) +
                                    otherText->substr(otherText->find("-----BEGIN")),
                                "ci.pub");
  ASSERT_FALSE(swapped);
  EXPECT_NE(swapped.error().find("was the file edited"), std::string::npos) << swapped.error();
  EXPECT_FALSE(parsePublicKey("no key here\n", "empty.pub"));
  auto noKeys = readTrustedKeys(dir_.path() / "out"); // a directory without *.pub
  ASSERT_FALSE(noKeys);
  EXPECT_NE(noKeys.error().find("no trusted keys"), std::string::npos) << noKeys.error();
}

} // namespace
} // namespace polc::artifacts
