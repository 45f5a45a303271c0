// Whole-file reads and writes with errors as values.
#pragma once

#include "polc/support/expected.h"

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace polc {

// The string's capacity exceeds the file by at least kReadFilePadding bytes.
inline constexpr size_t kReadFilePadding = 64;
Expected<std::string> readFile(const std::filesystem::path& path);
// Writes to a temporary beside the file, then renames: readers never see half a file.
Status writeFile(const std::filesystem::path& path, std::string_view contents);

} // namespace polc
