#include "polc/artifacts/digest.h"

#include <openssl/evp.h>

#include <array>

namespace polc::artifacts {

std::string sha256Hex(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
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
