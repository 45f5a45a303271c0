// UTF-8 validation: names, labels and policy text are UTF-8 (docs/cli.md,
// "Limits"), and whatever polc prints as JSON must be.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace polc {

// The offset of the first byte of `text` that does not begin a well-formed
// UTF-8 sequence (a stray continuation byte, a truncated, overlong or
// surrogate sequence, or one beyond U+10FFFF), or npos when all of it is UTF-8.
size_t invalidUtf8(std::string_view text);

inline bool isUtf8(std::string_view text) {
  return invalidUtf8(text) == std::string_view::npos;
}

// The code points of `text`, which must be UTF-8 (invalidUtf8 returned npos;
// anything else is an internal error), and back: the policy parser reads
// code points, as ANTLR counts positions.
std::u32string decodeUtf8(std::string_view text);
std::string encodeUtf8(std::u32string_view codePoints);

// The text with every byte that does not begin a well-formed sequence
// replaced by U+FFFD (as nlohmann's error_handler_t::replace does): for
// writers of JSON that must stay valid whatever a path holds.
std::string replaceInvalidUtf8(std::string_view text);

// Where the first invalid byte is, for a diagnostic: 1-based line and the
// column counted in code points, as the policy parser counts them, or in
// bytes, as the YAML reader does. Only meaningful when `offset` is an
// offset that invalidUtf8 returned (everything before it is UTF-8).
struct TextPosition {
  int line = 1;
  int column = 1;
};
TextPosition positionOfByte(std::string_view text, size_t offset, bool columnInCodePoints);

// "byte 0xff": how a diagnostic names the byte at `offset`.
std::string describeByte(std::string_view text, size_t offset);

} // namespace polc
