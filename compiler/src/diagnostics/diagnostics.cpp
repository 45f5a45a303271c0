#include "polc/diagnostics/diagnostics.h"

#include "polc/support/utf8.h"

#include "polc/support/internal_error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <string_view>

namespace polc {

void Diagnostics::addSource(const std::string& file, std::string text) {
  sources_[file] = std::move(text);
}

Diagnostic& Diagnostics::add(Severity severity, DiagnosticId id, SourceLocation location,
                             std::string message) {
  const auto& info = diagnosticInfo(id);
  // The catalogue is what --list-diagnostics and -W promise.
  if (info.severity != severity)
    internalError("diagnostic '" + std::string(info.name) + "' is catalogued as " +
                  std::string(severityName(info.severity)) + " but reported as " +
                  std::string(severityName(severity)));
  auto effective = options_.severityOf(id);
  auto& list = effective ? diagnostics_ : suppressed_;
  list.push_back({effective.value_or(severity),
                  id,
                  std::string(info.name),
                  std::move(location),
                  1,
                  std::move(message),
                  {},
                  {}});
  return list.back();
}

Diagnostic& Diagnostics::error(DiagnosticId id, SourceLocation location, std::string message) {
  return add(Severity::Error, id, std::move(location), std::move(message));
}

Diagnostic& Diagnostics::warning(DiagnosticId id, SourceLocation location, std::string message) {
  return add(Severity::Warning, id, std::move(location), std::move(message));
}

void Diagnostics::dropSince(Mark mark) {
  if (mark.reported > diagnostics_.size() || mark.suppressed > suppressed_.size())
    internalError("Diagnostics::dropSince: a mark beyond the store");
  diagnostics_.resize(mark.reported);
  suppressed_.resize(mark.suppressed);
}

size_t Diagnostics::errorCount() const {
  return std::count_if(diagnostics_.begin(), diagnostics_.end(),
                       [](const auto& d) { return d.severity == Severity::Error; });
}
size_t Diagnostics::warningCount() const {
  return diagnostics_.size() - errorCount();
}
bool Diagnostics::hasErrors() const {
  return errorCount() > 0;
}

namespace {

// Where each line of a source starts: found once per render, so that
// quoting thousands of diagnostics is not quadratic in the file size.
std::vector<size_t> lineStarts(const std::string& text) {
  std::vector<size_t> starts = {0};
  for (size_t i = text.find('\n'); i != std::string::npos; i = text.find('\n', i + 1))
    starts.push_back(i + 1);
  return starts;
}

std::string sourceLine(const std::string& text, const std::vector<size_t>& starts, int line) {
  if (line < 1 || size_t(line) > starts.size()) return {};
  size_t start = starts[size_t(line) - 1];
  auto end = text.find('\n', start);
  return text.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// A control character (a NUL of a binary file, the ESC of a colour
// sequence) as \xHH: what polc quotes from a file never reaches the
// terminal as a control. A tab stays a tab; a CR ending a line is dropped;
// `keepNewlines` for a message of several lines.
bool isControl(unsigned char c) {
  return (c < 0x20 && c != '\t') || c == 0x7f;
}

// How many bytes of `text` from `at` to copy as they are: 1 for a printable
// ASCII byte, the length of a well-formed UTF-8 sequence, 0 for a byte to
// print as \xHH (a control, or one that begins no well-formed sequence: the
// terminal would show it as garbage or take it for part of an escape).
size_t printableLength(std::string_view text, size_t at) {
  const auto lead = static_cast<unsigned char>(text[at]);
  if (lead < 0x80) return isControl(lead) ? 0 : 1;
  const size_t length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
  if (at + length > text.size() || !isUtf8(text.substr(at, length))) return 0;
  return length;
}

std::string escapeControls(std::string_view line, bool keepNewlines = false) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::string out;
  out.reserve(line.size());
  for (size_t at = 0; at < line.size();) {
    const auto c = static_cast<unsigned char>(line[at]);
    size_t length = printableLength(line, at);
    if (length > 0 || (keepNewlines && c == '\n')) {
      length = std::max<size_t>(length, 1);
      out.append(line.substr(at, length));
      at += length;
      continue;
    }
    static const char digits[] = "0123456789abcdef";
    out += "\\x";
    out += digits[c >> 4];
    out += digits[c & 15];
    ++at;
  }
  return out;
}

} // namespace

void Diagnostics::sort() {
  std::stable_sort(diagnostics_.begin(), diagnostics_.end(),
                   [](const auto& a, const auto& b) { return a.location < b.location; });
}

std::string Diagnostics::render(bool color) const {
  const char* bold = color ? "\033[1m" : "";
  const char* red = color ? "\033[1;31m" : "";
  const char* magenta = color ? "\033[1;35m" : "";
  const char* green = color ? "\033[1;32m" : "";
  const char* reset = color ? "\033[0m" : "";
  std::string out;
  std::map<std::string, std::vector<size_t>, std::less<>> starts; // per source file
  // The source line with a caret and underline below the span.
  auto quote = [&](const SourceLocation& location, int length) {
    auto source = sources_.find(location.file);
    if (!location.valid() || source == sources_.end()) return;
    auto known = starts.find(location.file);
    if (known == starts.end())
      known = starts.emplace(location.file, lineStarts(source->second)).first;
    auto line = sourceLine(source->second, known->second, location.line);
    if (line.empty() && location.column != 1) return;
    auto number = std::to_string(location.line);
    out += " " + number + " | " + escapeControls(line) + "\n";
    std::string pad;
    // One column per byte before the caret, four per escaped one (as wide
    // as \xHH), a tab as a tab.
    const size_t before = std::min(line.size(), size_t(std::max(location.column, 1)) - 1);
    for (size_t at = 0; at < before;) {
      const size_t length = printableLength(line, at);
      if (length == 0 || line[at] == '\t') {
        pad += line[at] == '\t' ? "\t" : "    ";
        ++at;
        continue;
      }
      pad.append(std::min(at + length, before) - at, ' ');
      at += length;
    }
    out += " " + std::string(number.size(), ' ') + " | " + pad + green + "^" +
           std::string(std::max(0, length - 1), '~') + reset + "\n";
  };
  for (const auto& d : diagnostics_) {
    bool isError = d.severity == Severity::Error;
    out += std::string(bold) + d.location.str() + ": " + reset;
    out += std::string(isError ? red : magenta) + (isError ? "error: " : "warning: ") + reset;
    // A message may quote the input too (`unexpected character '...'`).
    out += std::string(bold) + escapeControls(d.message, true) + reset + " [" + d.name + "]\n";
    quote(d.location, d.length);
    for (const auto& hint : d.hints) out += "  hint: " + hint + "\n";
    for (const auto& note : d.notes) {
      out +=
          std::string(bold) + note.location.str() + ": " + reset + "note: " + note.message + "\n";
      quote(note.location, note.length);
    }
  }
  return out;
}

namespace {
nlohmann::json notesJson(const std::vector<DiagnosticNote>& notes) {
  auto list = nlohmann::json::array();
  for (const auto& note : notes)
    list.push_back({{"file", note.location.file},
                    {"line", note.location.line},
                    {"column", note.location.column},
                    {"length", note.length},
                    {"message", note.message}});
  return list;
}
} // namespace

nlohmann::json Diagnostics::toJson() const {
  auto list = nlohmann::json::array();
  for (const auto& d : diagnostics_) {
    list.push_back({{"severity", d.severity == Severity::Error ? "error" : "warning"},
                    {"name", d.name},
                    {"file", d.location.file},
                    {"line", d.location.line},
                    {"column", d.location.column},
                    {"length", d.length},
                    {"message", d.message},
                    {"hints", d.hints},
                    {"notes", notesJson(d.notes)}});
  }
  return list;
}

} // namespace polc
