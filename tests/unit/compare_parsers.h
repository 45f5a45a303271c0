// The direct parser against ANTLR's parser and the walk of its tree, on one
// text: either both find no syntax error and build the same items with the
// same diagnostics, or the direct parser gives up, reporting nothing, and
// ANTLR's parser finds a syntax error (or the selector too deep to build).
// For tests/unit/direct_parser_test.cpp and the fuzzer tests/fuzz/fuzz_parser.
#pragma once

#include "direct_parser.h"
#include "tree_walker.h"

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

namespace polc::testing {

namespace compare_parsers {

using frontend::Item;

// Every field of the items, locations included.
inline std::string where(const SourceLocation& location, int length) {
  return location.str() + "+" + std::to_string(length);
}

inline void describe(std::ostream& out, const ast::Selector* s) {
  if (!s) {
    out << "null";
    return;
  }
  out << "(" << int(s->kind) << " " << where(s->location, s->length) << " key=" << s->key << "@"
      << where(s->keySpan.location, s->keySpan.length);
  for (size_t i = 0; i < s->values.size(); ++i)
    out << " v=" << s->values[i] << "@"
        << (i < s->valueSpans.size() ? where(s->valueSpans[i].location, s->valueSpans[i].length)
                                     : "?");
  for (const auto& operand : s->operands) {
    out << " ";
    describe(out, operand.get());
  }
  out << ")";
}

inline void describe(std::ostream& out,
                     const std::vector<std::pair<IpPrefix, ast::Span>>& prefixes) {
  for (const auto& [prefix, span] : prefixes)
    out << " " << prefix.text() << "@" << where(span.location, span.length);
}

inline void describe(std::ostream& out, const ast::Rule& rule) {
  out << "\n  rule " << int(rule.verdict) << int(rule.direction) << " "
      << where(rule.location, rule.length) << " peer " << int(rule.peer.kind) << " "
      << where(rule.peer.location, rule.peer.length) << " name=" << rule.peer.name
      << " entity=" << int(rule.peer.entity) << " ";
  describe(out, rule.peer.selector.get());
  describe(out, rule.peer.cidr.prefixes);
  out << " except";
  describe(out, rule.peer.cidr.except);
  for (const auto& port : rule.ports)
    out << "\n    port " << int(port.protocol) << " " << port.first << "-" << port.last << " "
        << port.namedPort << " " << (port.icmpType ? int(*port.icmpType) : -1) << " "
        << (port.icmpCode ? int(*port.icmpCode) : -1) << " " << where(port.location, port.length);
}

inline std::string describe(const std::vector<Item>& items) {
  std::ostringstream out;
  for (const auto& item : items) {
    if (const auto* include = std::get_if<frontend::Include>(&item)) {
      out << "include " << include->path << " " << where(include->location, include->length);
    } else if (const auto* let = std::get_if<ast::Let>(&item)) {
      out << "let " << let->name << " " << where(let->location, 1) << " ";
      describe(out, let->selector.get());
    } else if (const auto* defaults = std::get_if<ast::DefaultDeny>(&item)) {
      out << "default " << where(defaults->location, 1);
      for (auto direction : defaults->directions) out << " " << int(direction);
      out << " ";
      describe(out, defaults->selector.get());
    } else if (const auto* policy = std::get_if<ast::Policy>(&item)) {
      out << (policy->audit ? "audit policy " : "policy ") << policy->name << " "
          << where(policy->location, 1) << " ";
      describe(out, policy->select.get());
      for (const auto& block : policy->blocks) {
        out << "\n block " << int(block.direction) << " " << where(block.location, 1);
        for (const auto& rule : block.rules) describe(out, rule);
      }
    }
    out << "\n";
  }
  return out.str();
}

inline std::string describe(const std::vector<Diagnostic>& diagnostics) {
  std::ostringstream out;
  for (const auto& d : diagnostics) {
    out << int(d.severity) << " " << d.name << " " << where(d.location, d.length) << " "
        << d.message;
    for (const auto& hint : d.hints) out << " | hint " << hint;
    for (const auto& note : d.notes)
      out << " | note " << where(note.location, note.length) << " " << note.message;
    out << "\n";
  }
  return out.str();
}

} // namespace compare_parsers

struct ParserComparison {
  bool direct = false;  // the direct parser built the items
  std::string mismatch; // empty when the two parsers agree
};

inline ParserComparison compareParsers(const std::string& text) {
  using compare_parsers::describe;
  Diagnostics directDiagnostics;
  auto directTree = frontend::lexSyntax("p.pol", text, directDiagnostics);
  Diagnostics antlrDiagnostics;
  auto antlrTree = frontend::lexSyntax("p.pol", text, antlrDiagnostics);
  if (directTree->syntaxErrors > 0) return {}; // refused before parsing, by either
  auto before = directDiagnostics.all().size();
  auto direct = frontend::parseDirect(*directTree, directDiagnostics);
  frontend::buildParseTree(*antlrTree, antlrDiagnostics);
  auto walked = frontend::walkParseTree(*antlrTree, antlrDiagnostics);
  if (!direct) {
    if (directDiagnostics.all().size() != before)
      return {false, "the direct parser gave up but left diagnostics"};
    bool tooDeep = std::any_of(antlrDiagnostics.all().begin(), antlrDiagnostics.all().end(),
                               [](const auto& d) { return d.id == DiagnosticId::Nesting; });
    if (antlrTree->syntaxErrors == 0 && !tooDeep)
      return {false, "the direct parser refused a file ANTLR parses"};
    return {};
  }
  if (antlrTree->syntaxErrors > 0)
    return {true,
            "the direct parser accepted a file with syntax errors:\n" + antlrDiagnostics.render()};
  auto items = describe(*direct);
  auto walkedItems = describe(walked);
  if (items != walkedItems)
    return {true, "different items:\n" + items + "ANTLR's:\n" + walkedItems};
  auto reported = describe(directDiagnostics.all()) + describe(directDiagnostics.suppressed());
  auto antlrReported = describe(antlrDiagnostics.all()) + describe(antlrDiagnostics.suppressed());
  if (reported != antlrReported)
    return {true, "different diagnostics:\n" + reported + "ANTLR's:\n" + antlrReported};
  return {true, ""};
}

} // namespace polc::testing
