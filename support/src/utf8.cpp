#include "polc/support/utf8.h"

#include "polc/support/internal_error.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>

namespace polc {

namespace {

// How many bytes the sequence that `lead` begins has, or 0 if no sequence
// begins with it.
size_t sequenceLength(unsigned char lead) {
  return (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xe ? 3 : (lead >> 3) == 0x1e ? 4 : 0;
}

} // namespace

size_t invalidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80) { // the common case, one byte at a time
      ++i;
      continue;
    }
    size_t length = sequenceLength(byte);
    if (length == 0 || i + length > text.size()) return i;
    uint32_t code = byte & (0x7f >> length);
    for (size_t k = 1; k < length; ++k) {
      auto next = static_cast<unsigned char>(text[i + k]);
      if ((next >> 6) != 0x2) return i;
      code = (code << 6) | (next & 0x3f);
    }
    bool overlong = (length == 2 && code < 0x80) || (length == 3 && code < 0x800) ||
                    (length == 4 && code < 0x10000);
    if (overlong || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return i;
    i += length;
  }
  return std::string_view::npos;
}

std::u32string decodeUtf8(std::string_view text) {
  // At most one code point a byte: written in place, then cut to size.
  std::u32string codePoints(text.size(), U'\0');
  size_t count = 0;
  size_t i = 0;
  while (i < text.size()) {
    auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80) {
      codePoints[count++] = byte;
      ++i;
      continue;
    }
    size_t length = sequenceLength(byte);
    if (length == 0 || i + length > text.size())
      internalError("decodeUtf8: text that is not UTF-8 at byte " + std::to_string(i));
    uint32_t code = byte & (0x7f >> length);
    for (size_t k = 1; k < length; ++k)
      code = (code << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3f);
    codePoints[count++] = char32_t(code);
    i += length;
  }
  codePoints.resize(count);
  return codePoints;
}

std::string encodeUtf8(std::u32string_view codePoints) {
  std::string text;
  text.reserve(codePoints.size());
  for (char32_t code : codePoints) {
    if (code < 0x80) {
      text.push_back(char(code));
    } else if (code < 0x800) {
      text.push_back(char(0xc0 | (code >> 6)));
      text.push_back(char(0x80 | (code & 0x3f)));
    } else if (code < 0x10000) {
      text.push_back(char(0xe0 | (code >> 12)));
      text.push_back(char(0x80 | ((code >> 6) & 0x3f)));
      text.push_back(char(0x80 | (code & 0x3f)));
    } else {
      text.push_back(char(0xf0 | (code >> 18)));
      text.push_back(char(0x80 | ((code >> 12) & 0x3f)));
      text.push_back(char(0x80 | ((code >> 6) & 0x3f)));
      text.push_back(char(0x80 | (code & 0x3f)));
    }
  }
  return text;
}

std::string replaceInvalidUtf8(std::string_view text) {
  std::string valid;
  valid.reserve(text.size() + 8);
  for (auto bad = invalidUtf8(text); bad != std::string_view::npos; bad = invalidUtf8(text)) {
    valid.append(text.substr(0, bad));
    valid.append("\xef\xbf\xbd"); // U+FFFD
    text.remove_prefix(bad + 1);
  }
  valid.append(text);
  return valid;
}

TextPosition positionOfByte(std::string_view text, size_t offset, bool columnInCodePoints) {
  auto before = text.substr(0, std::min(offset, text.size()));
  auto newline = before.rfind('\n');
  auto line = before.substr(newline == std::string_view::npos ? 0 : newline + 1);
  TextPosition position;
  position.line = 1 + int(std::count(before.begin(), before.end(), '\n'));
  // A code point is every byte that does not continue a sequence.
  auto startsCodePoint = [](char c) { return (static_cast<unsigned char>(c) >> 6) != 0x2; };
  position.column =
      1 + int(columnInCodePoints ? std::count_if(line.begin(), line.end(), startsCodePoint)
                                 : line.size());
  return position;
}

std::string describeByte(std::string_view text, size_t offset) {
  if (offset >= text.size()) return "the end of the text";
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02x",
                static_cast<unsigned>(static_cast<unsigned char>(text[offset])));
  return std::string("byte ") + hex;
}

} // namespace polc
