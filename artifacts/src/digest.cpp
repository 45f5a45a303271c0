#include "polc/artifacts/digest.h"

namespace polc::artifacts {

Expected<std::string> sha256OfFile(const std::filesystem::path& path) {
  auto contents = readFile(path);
  if (!contents) return Error{contents.error()};
  return sha256Hex(*contents);
}

} // namespace polc::artifacts
