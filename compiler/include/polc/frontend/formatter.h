// `polc fmt`: the canonical layout of a .pol file. Comments (on their own
// line or after code) stay where they are; spacing and indentation (two
// spaces) are normalized; one rule per line; runs of blank lines become one.
// Formatting is idempotent and never changes what the file means.
#pragma once

#include "polc/diagnostics/diagnostics.h"

#include <optional>
#include <string>

namespace polc::frontend {

// The formatted text of one file (includes are not followed). nullopt when
// the text has syntax errors, which are reported to `diagnostics`; errors
// found only when building the AST (a port out of range, ...) do not stop
// formatting.
std::optional<std::string> formatText(const std::string& path, const std::string& text,
                                      Diagnostics& diagnostics);

// A unified diff (one hunk per run of changed lines, 2 lines of context)
// from `before` to `after`, labelled with `path`; empty when they are equal.
// For `polc fmt --check`.
std::string unifiedDiff(const std::string& path, const std::string& before,
                        const std::string& after);

} // namespace polc::frontend
