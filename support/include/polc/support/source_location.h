#pragma once

#include <string>

namespace polc {

// A position in a user's input file; line and column count from 1.
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;

  bool valid() const { return line > 0; }
  std::string str() const {
    if (!valid()) return file;
    return file + ":" + std::to_string(line) + ":" + std::to_string(column);
  }
  auto operator<=>(const SourceLocation&) const = default;
};

} // namespace polc
