// Whole-file reads and writes with errors as values.
#pragma once

#include "polc/support/expected.h"

#include <filesystem>
#include <string>
#include <string_view>

namespace polc {

Expected<std::string> readFile(const std::filesystem::path& path);
// Writes to a temporary beside the file, then renames: readers never see half a file.
Status writeFile(const std::filesystem::path& path, std::string_view contents);

} // namespace polc
