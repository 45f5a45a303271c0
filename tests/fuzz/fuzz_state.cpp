// libFuzzer target: any bytes as the loader's record of a node, read from
// files by readNodeState as `polc load`, `unload` and `status` do: the bytes
// up to the first NUL are <node>.json, the rest (if there is a NUL) its
// journal <node>.pending. The reader must give a state, nothing or an error,
// never throw or crash, and a state it accepts must read back the same once
// written (the journal aside: writeNodeState leaves it to its own file).
#include "node_state.h"

#include "polc/support/files.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "%s\n", what.c_str());
  std::abort();
}

// A directory of this process's own, removed when the fuzzer exits.
class TemporaryDirectory {
public:
  TemporaryDirectory() {
    std::string pattern = (fs::temp_directory_path() / "polc-fuzz-state-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) fail("mkdtemp failed");
    path_ = pattern;
  }
  ~TemporaryDirectory() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;
  const fs::path& path() const { return path_; }

private:
  fs::path path_;
};

void writeOrFail(const fs::path& path, std::string_view bytes) {
  if (auto written = polc::writeFile(path, bytes); !written) fail(written.error());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace runtime = polc::runtime;
  static TemporaryDirectory directory;
  const auto& dir = directory.path();
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto nul = bytes.find('\0');
  writeOrFail(runtime::stateFile(dir, "n"), bytes.substr(0, nul));
  std::error_code ignored;
  if (nul == std::string_view::npos)
    fs::remove(runtime::pendingFile(dir, "n"), ignored);
  else
    writeOrFail(runtime::pendingFile(dir, "n"), bytes.substr(nul + 1));

  auto state = runtime::readNodeState(runtime::stateFile(dir, "n"));
  if (!state || !*state) return 0;
  // Written under its own name, as a load does, into a directory of its own.
  auto copy = **state;
  copy.pending.reset();
  const auto again = dir / "again";
  fs::remove_all(again, ignored);
  if (copy.node.empty() || copy.node.find('/') != std::string::npos || copy.node == "." ||
      copy.node == "..")
    return 0; // not a file name: a load never writes such a state
  if (auto written = runtime::writeNodeState(again, copy); !written) fail(written.error());
  auto reread = runtime::readNodeState(runtime::stateFile(again, copy.node));
  if (!reread) fail("a state written back does not read: " + reread.error());
  if (!*reread || !(**reread == copy)) fail("a state written back reads differently");
  return 0;
}
