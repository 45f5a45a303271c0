#include "polc/support/sha256.h"

// SHA256_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP,
// but they are the only entry that runs the digest directly: EVP first sets
// up the library's providers and reads its configuration file, about a
// millisecond of every `polc load` (the digest itself is the same code,
// SHA-NI where the CPU has it).
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <array>

namespace polc {

std::string hexOf(const unsigned char* bytes, size_t length) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(length * 2);
  for (size_t i = 0; i < length; ++i) {
    hex.push_back(kHex[bytes[i] >> 4]);
    hex.push_back(kHex[bytes[i] & 0xf]);
  }
  return hex;
}

std::string sha256Hex(std::string_view bytes) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256_CTX context;
  SHA256_Init(&context);
  SHA256_Update(&context, bytes.data(), bytes.size());
  SHA256_Final(digest.data(), &context);
  return hexOf(digest.data(), digest.size());
}

} // namespace polc
