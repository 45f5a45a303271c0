#include "object_reader.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace polc::importer {

SourceLocation Field::location() const {
  auto mark = node_.mark();
  return {*file_, mark.line + 1, mark.column + 1};
}

std::optional<Field> Field::child(const std::string& key) const {
  for (const auto& [name, value] : node_.entries())
    if (name.isScalar() && name.text() == key)
      return Field(value, path_.empty() ? key : path_ + "." + key, file_);
  return std::nullopt;
}

std::vector<Field> Field::items() const {
  std::vector<Field> items;
  size_t index = 0;
  for (const auto& item : node_.items())
    items.emplace_back(item, path_ + "[" + std::to_string(index++) + "]", file_);
  return items;
}

std::vector<std::pair<std::string, Field>> Field::entries() const {
  std::vector<std::pair<std::string, Field>> entries;
  for (const auto& [name, value] : node_.entries())
    entries.emplace_back(
        name.text(), Field(value, path_.empty() ? name.text() : path_ + "." + name.text(), file_));
  return entries;
}

std::vector<Field> Field::keys() const {
  std::vector<Field> keys;
  for (const auto& [name, value] : node_.entries())
    keys.emplace_back(name, path_.empty() ? name.text() : path_ + "." + name.text(), file_);
  return keys;
}

std::string Reporter::message(const ObjectId& object, const Field& field, const std::string& why) {
  std::string text = object.kind.empty() ? "" : object.text() + ": ";
  if (!field.path().empty()) text += field.path() + ": ";
  return text + why;
}

Diagnostic& Reporter::error(DiagnosticId id, const ObjectId& object, const Field& field,
                            const std::string& why) {
  return diagnostics_.error(id, field.location(), message(object, field, why));
}

Diagnostic& Reporter::warning(DiagnosticId id, const ObjectId& object, const Field& field,
                              const std::string& why) {
  return diagnostics_.warning(id, field.location(), message(object, field, why));
}

bool Reporter::untranslatable(const ObjectId& object, const Field& field, const std::string& why,
                              const std::string& hint) {
  if (lenient_) {
    warning(DiagnosticId::K8sApproximated, object, field, why)
        .hint(hint)
        .hint("--lenient: a comment in the output says what was left out");
    return true;
  }
  error(DiagnosticId::K8sUntranslatable, object, field, why)
      .hint(hint)
      .hint("--lenient imports the rest, with a comment in the output saying what was left out");
  return false;
}

void Reporter::note(SourceLocation location, std::string message) {
  notes_.push_back({std::move(location), std::move(message)});
}

std::optional<std::string> ObjectReader::string(const std::optional<Field>& field) {
  if (!field || field->isNull()) return std::nullopt;
  if (!field->isScalar()) {
    reporter_.error(DiagnosticId::K8sInvalid, object_, *field, "expected a string");
    return std::nullopt;
  }
  return field->text();
}

std::optional<long> ObjectReader::integer(const std::optional<Field>& field, long min, long max) {
  auto text = string(field);
  if (!text) return std::nullopt;
  long value = 0;
  auto [end, problem] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (problem != std::errc() || end != text->data() + text->size() || value < min || value > max) {
    reporter_.error(DiagnosticId::K8sInvalid, object_, *field,
                    "expected an integer from " + std::to_string(min) + " to " +
                        std::to_string(max) + ", not '" + *text + "'");
    return std::nullopt;
  }
  return value;
}

std::optional<bool> ObjectReader::boolean(const std::optional<Field>& field) {
  auto text = string(field);
  if (!text) return std::nullopt;
  if (*text == "true") return true;
  if (*text == "false") return false;
  reporter_.error(DiagnosticId::K8sInvalid, object_, *field,
                  "expected true or false, not '" + *text + "'");
  return std::nullopt;
}

std::optional<std::string> ObjectReader::protocol(const std::optional<Field>& field) {
  if (!field || field->isNull()) return "tcp";
  auto text = string(field);
  if (!text) return std::nullopt;
  if (*text == "TCP") return "tcp";
  if (*text == "UDP") return "udp";
  if (*text == "SCTP") return "sctp";
  reporter_.error(DiagnosticId::K8sInvalid, object_, *field,
                  "unknown protocol '" + *text + "'; Kubernetes has TCP, UDP and SCTP");
  return std::nullopt;
}

Labels ObjectReader::labels(const std::optional<Field>& field) {
  Labels labels;
  if (!field || field->isNull()) return labels;
  if (!field->isMap()) {
    reporter_.error(DiagnosticId::K8sInvalid, object_, *field, "expected a map of labels");
    return labels;
  }
  for (const auto& [key, value] : field->entries()) {
    if (auto problem = labelKeyProblem(key)) {
      reporter_.error(DiagnosticId::K8sInvalid, object_, value,
                      "label key '" + key + "': " + *problem);
      continue;
    }
    auto text = value.isNull() ? std::optional<std::string>("") : string(value);
    if (!text) continue;
    if (auto problem = labelValueProblem(*text)) {
      reporter_.error(DiagnosticId::K8sInvalid, object_, value,
                      "label value '" + *text + "': " + *problem);
      continue;
    }
    labels[key] = *text;
  }
  return labels;
}

std::vector<Field> ObjectReader::items(const std::optional<Field>& field) {
  if (!field || field->isNull()) return {};
  if (!field->isSequence()) {
    reporter_.error(DiagnosticId::K8sInvalid, object_, *field, "expected a list");
    return {};
  }
  return field->items();
}

bool ObjectReader::isMapOrAbsent(const std::optional<Field>& field) {
  if (!field || field->isNull() || field->isMap()) return true;
  reporter_.error(DiagnosticId::K8sInvalid, object_, *field, "expected a map");
  return false;
}

bool ObjectReader::onlyKnownFields(const Field& map,
                                   std::initializer_list<std::string_view> known) {
  bool ok = true;
  for (const auto& keyField : map.keys()) {
    const auto& key = keyField.text();
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string list;
    for (auto name : known) list += (list.empty() ? "" : ", ") + std::string(name);
    reporter_
        .error(DiagnosticId::K8sUnknownField, object_, keyField,
               "unknown field '" + key + "'; polc never drops a field it does not understand")
        .hint("the fields known here: " + list);
    ok = false;
  }
  return ok;
}

namespace {

bool isAlnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

// A label value's shape (also a key's name part): alphanumeric at both
// ends, '-', '_' and '.' between.
std::optional<std::string> nameProblem(const std::string& name, const char* what) {
  if (name.size() > 63) return std::string(what) + " is longer than 63 characters";
  if (name.empty()) return std::nullopt;
  if (!isAlnum(name.front()) || !isAlnum(name.back()))
    return std::string(what) + " must start and end with a letter or digit";
  for (char c : name)
    if (!isAlnum(c) && c != '-' && c != '_' && c != '.')
      return std::string(what) + " may hold only letters, digits, '-', '_' and '.'";
  return std::nullopt;
}

} // namespace

std::optional<std::string> labelKeyProblem(const std::string& key) {
  auto slash = key.find('/');
  std::string name = slash == std::string::npos ? key : key.substr(slash + 1);
  if (slash != std::string::npos && !isDnsSubdomain(key.substr(0, slash)))
    return "the prefix before '/' must be a DNS subdomain";
  if (name.empty()) return "the name part is empty";
  return nameProblem(name, "the name part");
}

std::optional<std::string> labelValueProblem(const std::string& value) {
  return nameProblem(value, "a label value");
}

bool isDnsLabel(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  auto lowerAlnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lowerAlnum(name.front()) || !lowerAlnum(name.back())) return false;
  return std::all_of(name.begin(), name.end(), [&](char c) { return lowerAlnum(c) || c == '-'; });
}

bool isDnsSubdomain(const std::string& name) {
  if (name.empty() || name.size() > 253) return false;
  size_t start = 0;
  for (;;) {
    auto dot = name.find('.', start);
    if (!isDnsLabel(name.substr(start, dot - start))) return false;
    if (dot == std::string::npos) return true;
    start = dot + 1;
  }
}

std::string doubleQuoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

} // namespace polc::importer
