// Diagnostics are data: every stage appends to one store, and the CLI
// renders it (text with the source line and a caret, or JSON). Nothing is
// thrown across stages. Each diagnostic is one of the catalogue's
// (catalogue.h), named by its id.
#pragma once

#include "polc/diagnostics/catalogue.h"
#include "polc/diagnostics/warning_options.h"
#include "polc/support/source_location.h"

#include <nlohmann/json_fwd.hpp>

#include <map>
#include <string>
#include <vector>

namespace polc {

// A related place, e.g. "the shadowing rule is here".
struct DiagnosticNote {
  SourceLocation location;
  int length = 1;
  std::string message;
};

struct Diagnostic {
  Severity severity = Severity::Error; // after -W
  DiagnosticId id = DiagnosticId::Syntax;
  std::string name; // the id's stable name, e.g. "syntax", "unknown-let"
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

  // What -W asked; applies to the diagnostics added from then on.
  void setWarningOptions(WarningOptions options) { options_ = std::move(options); }

  // `id` must be catalogued with that severity (anything else is a bug in
  // polc). What -W changes is applied here: the diagnostic may come out as
  // an error, or be suppressed (kept aside, still returned for its hints).
  Diagnostic& error(DiagnosticId id, SourceLocation location, std::string message);
  Diagnostic& warning(DiagnosticId id, SourceLocation location, std::string message);

  // A point in the store, and dropping what was added after it: for a
  // parser that tries a quick way first and starts over when it cannot finish.
  struct Mark {
    size_t reported = 0;
    size_t suppressed = 0;
  };
  Mark mark() const { return {diagnostics_.size(), suppressed_.size()}; }
  void dropSince(Mark mark);

  bool hasErrors() const;
  size_t errorCount() const;
  size_t warningCount() const;
  const std::vector<Diagnostic>& all() const { return diagnostics_; }
  // What -W no-NAME kept out of all().
  const std::vector<Diagnostic>& suppressed() const { return suppressed_; }

  // Errors and warnings sorted by file, line and column (stable for equal
  // positions), so output does not depend on the order passes ran in.
  void sort();

  // "file:line:col: error: message [name]", the source line, a caret line,
  // hints, then each note with its own source line.
  std::string render(bool color = false) const;
  nlohmann::json toJson() const;

private:
  Diagnostic& add(Severity, DiagnosticId, SourceLocation, std::string message);
  WarningOptions options_;
  std::vector<Diagnostic> diagnostics_;
  std::vector<Diagnostic> suppressed_;
  std::map<std::string, std::string> sources_;
};

} // namespace polc
