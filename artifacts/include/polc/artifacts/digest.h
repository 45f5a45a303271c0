// SHA-256 digests of artifact contents (OpenSSL).
#pragma once

#include "polc/support/expected.h"
#include "polc/support/files.h"

#include <filesystem>
#include <string>
#include <string_view>

namespace polc::artifacts {

// The bytes in lower-case hex.
std::string hexOf(const unsigned char* bytes, size_t length);
// Lower-case hex SHA-256 of the bytes.
std::string sha256Hex(std::string_view bytes);
Expected<std::string> sha256OfFile(const std::filesystem::path& path);

} // namespace polc::artifacts
