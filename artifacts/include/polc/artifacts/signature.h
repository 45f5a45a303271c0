// Signed build outputs and bundles: an Ed25519 signature over the SHA-256 of
// manifest.json, kept beside it in manifest.sig. The manifest lists every
// other file's digest, so one signature covers the whole directory.
// Keys: a private key is PKCS#8 PEM; a public key is PEM after a few
// "name: value" header lines (its id, an optional expiry) that PEM readers
// skip, so `openssl pkey` reads both files too.
#pragma once

#include "polc/support/expected.h"

#include <array>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace polc::artifacts {

inline constexpr const char* kSignatureFile = "manifest.sig";
inline constexpr int kSignatureSchema = 1;
inline constexpr size_t kPublicKeyBytes = 32;
using PublicKey = std::array<unsigned char, kPublicKeyBytes>;

// How keys are named in files and messages: the first 16 hex digits of the
// SHA-256 of the raw public key.
std::string keyId(const PublicKey&);

// A new key pair: the private key's PEM and the public key's file text.
// After `expires` (a UTC day) the public key is no longer trusted.
struct KeyPair {
  std::string id;
  std::string privateKeyPem;
  std::string publicKeyText;
};
Expected<KeyPair> generateKeyPair(std::optional<std::chrono::sys_days> expires);
// Writes PREFIX.key (mode 0600, never readable by others, not even while it
// is written) and PREFIX.pub; refuses to replace an existing key unless
// `overwrite`. Returns the two paths.
Expected<std::pair<std::filesystem::path, std::filesystem::path>>
writeKeyPair(const std::filesystem::path& prefix, const KeyPair&, bool overwrite);
// "YYYY-MM-DD" as a UTC day; nullopt if it is not a valid date.
std::optional<std::chrono::sys_days> parseDay(std::string_view);

// A public key that --trust names.
struct TrustedKey {
  std::string id;
  PublicKey key{};
  std::optional<std::chrono::sys_days> expires; // trusted before this day only
  std::filesystem::path file;
};
// Parses a public key file's text; `file` names it in errors.
Expected<TrustedKey> parsePublicKey(std::string_view text, const std::filesystem::path& file);
// A public key file, or every *.pub file of a directory (several keys at
// once: rotation). Any unreadable key file, or none at all, is an error.
Expected<std::vector<TrustedKey>> readTrustedKeys(const std::filesystem::path& fileOrDirectory);

// Signs DIR (a build output or a bundle): its digests are verified first,
// then DIR/manifest.sig is written. Returns the signing key's id.
Expected<std::string> signBuildOutput(const std::filesystem::path& dir,
                                      const std::filesystem::path& privateKeyFile);

// Checks DIR/manifest.sig against the digest of the manifest bytes that
// were read (readManifest's `sha256`) and the keys in `trust`, as of `now`.
// Returns the id of the key that signed it; an unsigned directory, a
// signature that does not verify, or a key not trusted (or expired) is an
// error that says which.
Expected<std::string> verifySignature(const std::filesystem::path& dir,
                                      std::string_view manifestSha256,
                                      const std::vector<TrustedKey>& trust,
                                      std::chrono::system_clock::time_point now);

} // namespace polc::artifacts
