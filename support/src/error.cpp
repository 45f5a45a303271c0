#include "polc/support/expected.h"

namespace polc {

std::string errorText(const Error& error) {
  std::string text = error.message;
  if (error.libbpfLog.empty()) return text;
  // Each line of libbpf's own ("libbpf: ..."), set off below the message.
  size_t start = 0;
  while (start <= error.libbpfLog.size()) {
    auto end = error.libbpfLog.find('\n', start);
    if (end == std::string::npos) end = error.libbpfLog.size();
    text += "\n  " + error.libbpfLog.substr(start, end - start);
    start = end + 1;
  }
  return text;
}

} // namespace polc
