// Diagnostics are data: every stage appends to one store, and the CLI
// renders it (text with the source line and a caret, or JSON). Nothing is
// thrown across stages.
#pragma once

#include "polc/support/source_location.h"

#include <nlohmann/json_fwd.hpp>

#include <map>
#include <string>
#include <vector>

namespace polc {

enum class Severity { Error, Warning };

// A related place, e.g. "the shadowing rule is here".
struct DiagnosticNote {
  SourceLocation location;
  int length = 1;
  std::string message;
};

struct Diagnostic {
  Severity severity = Severity::Error;
  std::string name; // stable identifier, e.g. "syntax", "unknown-let"
  SourceLocation location;
  int length = 1; // characters to underline from the location
  std::string message;
  std::vector<std::string> hints;
  std::vector<DiagnosticNote> notes;

  Diagnostic& underline(int characters) {
    length = characters;
    return *this;
  }
  Diagnostic& hint(std::string text) {
    hints.push_back(std::move(text));
    return *this;
  }
  Diagnostic& note(SourceLocation where, int characters, std::string message) {
    notes.push_back({std::move(where), characters, std::move(message)});
    return *this;
  }
};

class Diagnostics {
public:
  // Remembers a file's text so diagnostics can quote the offending line.
  void addSource(const std::string& file, std::string text);

  Diagnostic& error(std::string name, SourceLocation location, std::string message);
  Diagnostic& warning(std::string name, SourceLocation location, std::string message);

  bool hasErrors() const;
  size_t errorCount() const;
  size_t warningCount() const;
  const std::vector<Diagnostic>& all() const { return diagnostics_; }

  // Errors and warnings sorted by file, line and column (stable for equal
  // positions), so output does not depend on the order passes ran in.
  void sort();

  // "file:line:col: error: message [name]", the source line, a caret line,
  // hints, then each note with its own source line.
  std::string render(bool color = false) const;
  nlohmann::json toJson() const;

private:
  Diagnostic& add(Severity, std::string name, SourceLocation, std::string message);
  std::vector<Diagnostic> diagnostics_;
  std::map<std::string, std::string> sources_;
};

} // namespace polc
