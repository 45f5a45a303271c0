// libFuzzer target: any bytes as a .pol file. The parser must neither throw
// nor crash, and must explain every refusal with an error diagnostic; and
// its two parsers must agree (tests/unit/compare_parsers.h): the direct
// parser builds what ANTLR's parser and the walk of its tree build, and
// gives up exactly where ANTLR's parser finds a syntax error.
#include "compare_parsers.h"

#include "polc/frontend/parser.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  polc::Diagnostics diagnostics;
  auto file = polc::frontend::parseText("fuzz.pol", text, diagnostics);
  if (!file && !diagnostics.hasErrors()) {
    std::fprintf(stderr, "parseText failed without an error diagnostic\n");
    std::abort();
  }
  // Rendering quotes source lines at arbitrary positions: exercise it too.
  (void)diagnostics.render();
  if (auto comparison = polc::testing::compareParsers(text); !comparison.mismatch.empty()) {
    std::fprintf(stderr, "the parsers disagree: %s\n", comparison.mismatch.c_str());
    std::abort();
  }
  return 0;
}
