// Small RAII and error helpers around libbpf, shared by everything that
// opens polc's BPF objects (the loader, the build's verifier check, the
// datapath tests): one capture of libbpf's log, one way to set load-time
// config.
#pragma once

#include <bpf/libbpf.h>

#include "polc/support/expected.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace polc::maps {

struct BpfObjectDeleter {
  void operator()(bpf_object* object) const { bpf_object__close(object); }
};
using BpfObjectPtr = std::unique_ptr<bpf_object, BpfObjectDeleter>;

// While alive, libbpf's warnings and debug lines go into a buffer instead of
// stderr, so that an error can carry libbpf's own explanation (the verifier
// log, a map incompatibility) to the caller. libbpf's print hook is global:
// one capture at a time.
class LibbpfLogCapture {
public:
  LibbpfLogCapture();
  ~LibbpfLogCapture();
  LibbpfLogCapture(const LibbpfLogCapture&) = delete;
  LibbpfLogCapture& operator=(const LibbpfLogCapture&) = delete;

  // The captured warnings since the last take(), trimmed; empties the buffer.
  std::string take();

private:
  libbpf_print_fn_t previous_;
};

// "what: strerror(-code)" with the errno, the kernel object (may be empty)
// and libbpf's messages since the last take() as the Error's fields.
Error libbpfFailure(const std::string& what, int negativeErrno, LibbpfLogCapture& log,
                    std::string object = {});
// The same as one text (errorText), for callers that keep only a message.
std::string libbpfError(const std::string& what, int negativeErrno, LibbpfLogCapture& log);

// Sets a `const volatile __u32` global of the object's .rodata (load-time
// config, see bpf/lib/polc_datapath.h) before bpf_object__load; the verifier
// then sees the value as a constant. The variable is found by name in the
// object's BTF. Returns false when the object has no such variable (a
// specialized program need not read every config value).
Expected<bool> setReadOnlyConfig(bpf_object* object, std::string_view variable, uint32_t value);

// The size in bytes of a global of the object's .rodata, or nullopt when the
// object has no such variable.
std::optional<size_t> readOnlyVariableSize(bpf_object* object, std::string_view variable);

// Sets a global of the object's .rodata to `bytes` (exactly its size) before
// bpf_object__load. Returns false when the object has no such variable.
Expected<bool> setReadOnlyBytes(bpf_object* object, std::string_view variable,
                                std::span<const uint8_t> bytes);

} // namespace polc::maps
