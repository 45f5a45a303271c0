// SHA-256 as lower-case hex (OpenSSL): artifact digests, and ids derived from
// content (stable rule ids).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace polc {

// The bytes in lower-case hex.
std::string hexOf(const unsigned char* bytes, size_t length);
// Lower-case hex SHA-256 of the bytes.
std::string sha256Hex(std::string_view bytes);

} // namespace polc
