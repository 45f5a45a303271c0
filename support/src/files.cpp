#include "polc/support/files.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace polc {

Expected<std::string> readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"cannot read " + path.string() + ": " + std::strerror(errno)};
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

Status writeFile(const std::filesystem::path& path, std::string_view contents) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) return Error{"cannot create " + path.parent_path().string() + ": " + ec.message()};
  auto temporary = path;
  temporary += ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) return Error{"cannot write " + temporary.string() + ": " + std::strerror(errno)};
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    if (!out) return Error{"cannot write " + temporary.string() + ": " + std::strerror(errno)};
  }
  std::filesystem::rename(temporary, path, ec);
  if (ec) return Error{"cannot rename to " + path.string() + ": " + ec.message()};
  return okStatus();
}

} // namespace polc
