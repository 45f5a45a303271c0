// Reading the large JSON files a load reads every time (manifest.json, the
// loader's node state) with simdjson: nlohmann's parser (about 100 MB/s)
// took a quarter of a table-only reload of a node of 1,000 endpoints.
// nlohmann stays for writing and for the small files.
//
// JsonRead::parse returns the document or an Error; the accessors throw
// JsonReadError naming the missing or mistyped key, which the caller
// catches at its own boundary and turns into an Error (nothing throws
// further).
#pragma once

#include "polc/support/expected.h"
#include "polc/support/files.h"

#include <simdjson.h>

#include <cstdint>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace polc::artifacts {

class JsonReadError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// One parsed document; elements stay valid while the JsonRead lives.
class JsonRead {
public:
  using Element = simdjson::dom::element;

  // `text` is copied into simdjson's padded buffer.
  Expected<Element> parse(std::string_view text) { return parse(text.data(), text.size(), true); }
  // Parsed where it is when the string's spare capacity covers simdjson's
  // padding, as polc::readFile leaves it: no copy of a 1 MB file.
  Expected<Element> parse(const std::string& text) {
    static_assert(kReadFilePadding >= simdjson::SIMDJSON_PADDING);
    return parse(text.data(), text.size(),
                 text.capacity() - text.size() < simdjson::SIMDJSON_PADDING);
  }

  static Element at(Element object, std::string_view key) {
    Element value;
    if (object.at_key(key).get(value))
      throw JsonReadError("key \"" + std::string(key) + "\" " +
                          (object.is_object() ? "missing" : "in something that is not an object"));
    return value;
  }
  static bool has(Element object, std::string_view key) {
    Element value;
    return !object.at_key(key).get(value);
  }

  static std::string string(Element value, std::string_view key) {
    std::string_view text;
    if (value.get_string().get(text)) throw mistyped(key, "a string");
    return std::string(text);
  }
  static std::string string(Element object, std::string_view key, std::string_view fallback) {
    return has(object, key) ? string(at(object, key), key) : std::string(fallback);
  }
  static std::string stringAt(Element object, std::string_view key) {
    return string(at(object, key), key);
  }
  template <typename Integer> static Integer integerAt(Element object, std::string_view key) {
    int64_t number = 0;
    if (at(object, key).get_int64().get(number) ||
        number < int64_t(std::numeric_limits<Integer>::min()) ||
        (number > 0 && uint64_t(number) > uint64_t(std::numeric_limits<Integer>::max())))
      throw mistyped(key, "an integer in range");
    return static_cast<Integer>(number);
  }
  static uint64_t unsignedOf(Element value, std::string_view key) {
    uint64_t number = 0;
    if (value.get_uint64().get(number)) throw mistyped(key, "an unsigned integer");
    return number;
  }
  static bool boolAt(Element object, std::string_view key) {
    bool flag = false;
    if (at(object, key).get_bool().get(flag)) throw mistyped(key, "true or false");
    return flag;
  }
  static simdjson::dom::array arrayAt(Element object, std::string_view key) {
    simdjson::dom::array array;
    if (at(object, key).get_array().get(array)) throw mistyped(key, "an array");
    return array;
  }
  static simdjson::dom::object objectAt(Element object, std::string_view key) {
    simdjson::dom::object members;
    if (at(object, key).get_object().get(members)) throw mistyped(key, "an object");
    return members;
  }
  static std::vector<std::string> stringsAt(Element object, std::string_view key) {
    std::vector<std::string> strings;
    for (auto value : arrayAt(object, key)) strings.push_back(string(value, key));
    return strings;
  }
  static std::map<std::string, std::string> stringMapAt(Element object, std::string_view key) {
    std::map<std::string, std::string> map;
    for (auto [name, value] : objectAt(object, key))
      map.emplace_hint(map.end(), name, string(value, name));
    return map;
  }

private:
  Expected<Element> parse(const char* bytes, size_t length, bool copy) {
    Element root;
    if (auto error = parser_.parse(bytes, length, copy).get(root); error)
      return Error{std::string("not valid JSON: ") + simdjson::error_message(error)};
    return root;
  }
  static JsonReadError mistyped(std::string_view key, const char* expected) {
    return JsonReadError("\"" + std::string(key) + "\" is not " + expected);
  }

  simdjson::dom::parser parser_;
};

} // namespace polc::artifacts
