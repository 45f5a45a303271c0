#include "libbpf_util.h"

#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace polc::runtime {

namespace {

std::string capturedLog;
constexpr size_t kMaxCapturedLog = 64 * 1024; // verifier logs can be huge

int captureLibbpfPrint(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  va_list measure;
  va_copy(measure, args);
  int length = std::vsnprintf(nullptr, 0, format, measure);
  va_end(measure);
  if (length <= 0 || capturedLog.size() >= kMaxCapturedLog) return length;
  std::string line(static_cast<size_t>(length) + 1, '\0');
  std::vsnprintf(line.data(), line.size(), format, args);
  line.pop_back();
  capturedLog += line;
  return length;
}

} // namespace

LibbpfLogCapture::LibbpfLogCapture() : previous_(libbpf_set_print(captureLibbpfPrint)) {
  capturedLog.clear();
}

LibbpfLogCapture::~LibbpfLogCapture() {
  libbpf_set_print(previous_);
}

std::string LibbpfLogCapture::take() {
  std::string text = std::move(capturedLog);
  capturedLog.clear();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

std::string libbpfError(const std::string& what, int negativeErrno, LibbpfLogCapture& log) {
  std::string message =
      what + ": " + std::strerror(negativeErrno < 0 ? -negativeErrno : negativeErrno);
  if (auto details = log.take(); !details.empty())
    message += "\n" + details; // each line starts with "libbpf: "
  return message;
}

} // namespace polc::runtime
