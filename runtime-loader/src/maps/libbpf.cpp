#include "polc/maps/libbpf.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <vector>

#include <bpf/btf.h>

namespace polc::maps {

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

Error libbpfFailure(const std::string& what, int negativeErrno, LibbpfLogCapture& log,
                    std::string object) {
  int code = negativeErrno < 0 ? -negativeErrno : negativeErrno;
  return Error{what + ": " + std::strerror(code), code, std::move(object), log.take()};
}

std::string libbpfError(const std::string& what, int negativeErrno, LibbpfLogCapture& log) {
  return errorText(libbpfFailure(what, negativeErrno, log));
}

namespace {

struct ReadOnlyVariable {
  bpf_map* rodata = nullptr;
  uint32_t offset = 0;
  uint32_t size = 0;
};

// Finds a .rodata global by name in the object's BTF.
std::optional<ReadOnlyVariable> findReadOnlyVariable(bpf_object* object,
                                                     std::string_view variable) {
  bpf_map* rodata = bpf_object__find_map_by_name(object, ".rodata");
  const btf* types = bpf_object__btf(object);
  if (!rodata || !types) return std::nullopt;
  int sectionId = btf__find_by_name_kind(types, ".rodata", BTF_KIND_DATASEC);
  if (sectionId < 0) return std::nullopt;
  const btf_type* section = btf__type_by_id(types, static_cast<uint32_t>(sectionId));
  const btf_var_secinfo* entries = btf_var_secinfos(section);
  for (uint16_t i = 0; i < btf_vlen(section); ++i) {
    const btf_type* var = btf__type_by_id(types, entries[i].type);
    if (var && variable == btf__name_by_offset(types, var->name_off))
      return ReadOnlyVariable{rodata, entries[i].offset, entries[i].size};
  }
  return std::nullopt;
}

} // namespace

std::optional<size_t> readOnlyVariableSize(bpf_object* object, std::string_view variable) {
  auto found = findReadOnlyVariable(object, variable);
  if (!found) return std::nullopt;
  return found->size;
}

Expected<bool> setReadOnlyBytes(bpf_object* object, std::string_view variable,
                                std::span<const uint8_t> bytes) {
  auto found = findReadOnlyVariable(object, variable);
  if (!found) return false;
  if (found->size != bytes.size())
    return Error{".rodata variable " + std::string(variable) + " has " +
                 std::to_string(found->size) + " bytes, expected " + std::to_string(bytes.size())};
  size_t size = 0;
  const auto* initial = static_cast<const uint8_t*>(bpf_map__initial_value(found->rodata, &size));
  if (!initial || found->offset + bytes.size() > size)
    return Error{".rodata of the object is smaller than its BTF says"};
  std::vector<uint8_t> data(initial, initial + size);
  std::copy(bytes.begin(), bytes.end(), data.begin() + found->offset);
  if (int result = bpf_map__set_initial_value(found->rodata, data.data(), data.size()); result != 0)
    return Error{"setting .rodata variable " + std::string(variable) + ": " +
                 std::strerror(-result)};
  return true;
}

Expected<bool> setReadOnlyConfig(bpf_object* object, std::string_view variable, uint32_t value) {
  uint8_t bytes[sizeof value];
  std::memcpy(bytes, &value, sizeof value);
  return setReadOnlyBytes(object, variable, bytes);
}

} // namespace polc::maps
