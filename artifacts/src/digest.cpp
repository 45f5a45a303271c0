#include "polc/artifacts/digest.h"

#include <openssl/evp.h>

#include <array>
#include <memory>

namespace polc::artifacts {

namespace {

// OpenSSL 3 looks the algorithm up (locks, a hash table) on every
// EVP_Digest with EVP_sha256(): fetched once, with one context per thread,
// hashing the thousands of small files of a load costs half as much.
struct Sha256Context {
  std::unique_ptr<EVP_MD, decltype(&EVP_MD_free)> md{EVP_MD_fetch(nullptr, "SHA256", nullptr),
                                                     &EVP_MD_free};
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context{EVP_MD_CTX_new(),
                                                                  &EVP_MD_CTX_free};
};

} // namespace

std::string sha256Hex(std::string_view bytes) {
  thread_local Sha256Context sha256;
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (!sha256.md || !sha256.context ||
      !EVP_DigestInit_ex(sha256.context.get(), sha256.md.get(), nullptr) ||
      !EVP_DigestUpdate(sha256.context.get(), bytes.data(), bytes.size()) ||
      !EVP_DigestFinal_ex(sha256.context.get(), digest.data(), &length))
    EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

Expected<std::string> sha256OfFile(const std::filesystem::path& path) {
  auto contents = readFile(path);
  if (!contents) return Error{contents.error()};
  return sha256Hex(*contents);
}

} // namespace polc::artifacts
