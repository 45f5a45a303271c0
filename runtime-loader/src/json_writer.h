// Appends compact JSON to a string, token by token, without building a
// document first: writing the state of a node of thousands of endpoints
// through a JSON DOM cost more than the rest of a table-only load.
#pragma once

#include "polc/support/utf8.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace polc::runtime {

class JsonWriter {
public:
  std::string& text() { return text_; }

  JsonWriter& beginObject() { return open('{'); }
  JsonWriter& endObject() { return close('}'); }
  JsonWriter& beginArray() { return open('['); }
  JsonWriter& endArray() { return close(']'); }
  // The key of the next member of the object being written.
  JsonWriter& key(std::string_view name) {
    value(name);
    text_ += ':';
    afterKey_ = true;
    return *this;
  }
  JsonWriter& value(std::string_view string) {
    // Names, paths and digests are nearly always plain ASCII that needs no
    // escaping: copied in one piece.
    if (std::none_of(string.begin(), string.end(), [](char c) {
          auto byte = static_cast<unsigned char>(c);
          return c == '"' || c == '\\' || byte < 0x20 || byte >= 0x80;
        })) {
      separate();
      text_ += '"';
      text_ += string;
      text_ += '"';
      return *this;
    }
    // JSON is UTF-8: a path with other bytes is written with U+FFFD, which
    // the next reader can parse (the bytes themselves are not kept).
    if (!isUtf8(string)) return value(std::string_view(replaceInvalidUtf8(string)));
    separate();
    text_ += '"';
    for (char c : string) {
      auto byte = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        text_ += '\\';
        text_ += c;
      } else if (byte < 0x20) {
        char escaped[8];
        std::snprintf(escaped, sizeof escaped, "\\u%04x", byte);
        text_ += escaped;
      } else {
        text_ += c;
      }
    }
    text_ += '"';
    return *this;
  }
  JsonWriter& value(const char* string) { return value(std::string_view(string)); }
  JsonWriter& value(const std::string& string) { return value(std::string_view(string)); }
  JsonWriter& value(bool flag) { return raw(flag ? "true" : "false"); }
  JsonWriter& value(int64_t number) { return integer(number); }
  JsonWriter& value(uint64_t number) { return integer(number); }
  JsonWriter& value(int number) { return value(static_cast<int64_t>(number)); }
  JsonWriter& value(uint32_t number) { return value(static_cast<uint64_t>(number)); }

private:
  // A comma before every element but the first of its container.
  void separate() {
    if (afterKey_)
      afterKey_ = false;
    else if (!first_)
      text_ += ',';
    first_ = false;
  }
  template <typename Integer> JsonWriter& integer(Integer number) {
    char digits[24];
    auto end = std::to_chars(digits, digits + sizeof digits, number).ptr;
    return raw(std::string_view(digits, static_cast<size_t>(end - digits)));
  }
  JsonWriter& raw(std::string_view token) {
    separate();
    text_ += token;
    return *this;
  }
  JsonWriter& open(char bracket) {
    separate();
    text_ += bracket;
    first_ = true;
    return *this;
  }
  JsonWriter& close(char bracket) {
    text_ += bracket;
    first_ = false;
    return *this;
  }

  std::string text_;
  bool first_ = true;
  bool afterKey_ = false;
};

} // namespace polc::runtime
