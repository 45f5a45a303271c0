#include "libbpf_util.h"

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <vector>

#include <bpf/btf.h>

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

Expected<bool> setReadOnlyConfig(bpf_object* object, std::string_view variable, uint32_t value) {
  bpf_map* rodata = bpf_object__find_map_by_name(object, ".rodata");
  const btf* types = bpf_object__btf(object);
  if (!rodata || !types) return false;
  int sectionId = btf__find_by_name_kind(types, ".rodata", BTF_KIND_DATASEC);
  if (sectionId < 0) return false;
  const btf_type* section = btf__type_by_id(types, static_cast<uint32_t>(sectionId));
  const btf_var_secinfo* entries = btf_var_secinfos(section);
  for (uint16_t i = 0; i < btf_vlen(section); ++i) {
    const btf_type* var = btf__type_by_id(types, entries[i].type);
    if (!var || variable != btf__name_by_offset(types, var->name_off)) continue;
    if (entries[i].size != sizeof(value))
      return Error{".rodata variable " + std::string(variable) + " has " +
                   std::to_string(entries[i].size) + " bytes, expected " +
                   std::to_string(sizeof(value))};
    size_t size = 0;
    const auto* initial = static_cast<const uint8_t*>(bpf_map__initial_value(rodata, &size));
    if (!initial || entries[i].offset + sizeof(value) > size)
      return Error{".rodata of the object is smaller than its BTF says"};
    std::vector<uint8_t> data(initial, initial + size);
    std::memcpy(data.data() + entries[i].offset, &value, sizeof(value));
    if (int result = bpf_map__set_initial_value(rodata, data.data(), data.size()); result != 0)
      return Error{"setting .rodata variable " + std::string(variable) + ": " +
                   std::strerror(-result)};
    return true;
  }
  return false;
}

} // namespace polc::runtime
