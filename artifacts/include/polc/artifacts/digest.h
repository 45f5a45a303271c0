// SHA-256 digests of artifact contents (OpenSSL).
#pragma once

#include "polc/support/expected.h"
#include "polc/support/files.h"
#include "polc/support/sha256.h"

#include <filesystem>
#include <string>
#include <string_view>

namespace polc::artifacts {

using polc::hexOf;
using polc::sha256Hex;
Expected<std::string> sha256OfFile(const std::filesystem::path& path);

} // namespace polc::artifacts
