// Builds AST nodes from the tokens of each construct, and reports what the
// grammar leaves to it: escapes, empty names, let names, ports, prefixes,
// entities, the peer word of a rule, how deep a selector is. Shared by the
// two parsers that find the constructs: the walk of ANTLR's parse tree
// (parser.cpp) and the direct parser for files without syntax errors
// (direct_parser.h), so that both build the same AST and report the same
// diagnostics, as long as each calls it in the order of the text.
// Internal to the frontend library.
#pragma once

#include "syntax.h"

#include "polc/diagnostics/diagnostics.h"
#include "polc/frontend/ast.h"

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace polc::frontend {

using Token = antlr4::Token;

// How deep a selector's tree may be. Parentheses are limited before
// parsing (kMaxNesting); this bounds the long '&&'/'||' chains, which ANTLR
// parses with a loop but which become as deep a tree as they are long, and
// every later pass walks selectors recursively.
inline constexpr int kMaxSelectorDepth = 1000;

struct Include {
  std::string path; // as written
  SourceLocation location;
  int length = 1;
};

// One file's items in file order, with includes where they were written, so
// that included items merge in at the point of inclusion.
using Item = std::variant<ast::Let, ast::Policy, ast::DefaultDeny, Include>;

class AstBuilder {
public:
  AstBuilder(std::string path, Diagnostics& diagnostics)
      : path_(std::move(path)), diagnostics_(diagnostics) {}

  SourceLocation at(const Token* token) const { return locationOf(path_, token); }

  // ---- items; a name token may be null where recovery left none ----

  // include "path", from `first`; nothing for an empty name (reported).
  std::optional<Include> include(const Token* first, const Token* path);
  // let NAME = ..., without its selector.
  ast::Let let(const Token* first, const Token* name);
  // default deny ..., without directions and selector.
  ast::DefaultDeny defaultDeny(const Token* first);
  // One direction of a default deny; a repeated one is reported, not added.
  void addDirection(ast::DefaultDeny& result, const Token* direction);
  // [audit] policy "name" { ..., without its selector and blocks; `audit`
  // says whether the keyword was written.
  ast::Policy policy(const Token* first, bool audit, const Token* name);
  // ingress { / egress {, without rules.
  ast::DirectionBlock block(const Token* direction);
  // allow|deny from|to ..., without peer, ports and length. `peerWord` is
  // the from/to token; one that does not fit the block is reported.
  ast::Rule rule(const Token* first, const Token* verdict, const Token* peerWord,
                 ast::Direction direction);

  // ---- peers ----

  // The place of a peer written from `first` to `last`, without its kind.
  ast::Peer peer(const Token* first, const Token* last);
  // service "name" / group "name": `kind` is Service or Group.
  void namedPeer(ast::Peer& peer, ast::Peer::Kind kind, const Token* name);
  ast::Entity entity(const Token* token);
  // cidr PREFIXES [except PREFIXES]
  ast::CidrPeer cidr(const std::vector<const Token*>& prefixes,
                     const std::vector<const Token*>& except);

  // ---- ports: each adds to `out` unless it reports an error ----

  // tcp, udp or sctp alone.
  void wholeProtocol(const Token* protocol, std::vector<ast::PortSpec>& out);
  // icmp|icmpv6 [type N [code N]]: `type` and `code` may be null.
  void icmp(const Token* protocol, const Token* type, const Token* code, const Token* last,
            std::vector<ast::PortSpec>& out);
  // tcp/80, tcp/8000-8999 or tcp/http (one PORT_SPEC token).
  void portNumbers(const Token* token, std::vector<ast::PortSpec>& out);

  // ---- selectors, written from `first` to `last` ----
  // `depth` is the depth of the tree built (see kMaxSelectorDepth).

  ast::SelectorPtr any(const Token* first, const Token* last);
  ast::SelectorPtr has(const Token* first, const Token* last, const Token* key);
  // key == "value" / key != "value"
  ast::SelectorPtr compare(const Token* first, const Token* last, const Token* key, const Token* op,
                           const Token* value);
  // key in ("a", ...) / key notin (...)
  ast::SelectorPtr set(const Token* first, const Token* last, const Token* key, const Token* op,
                       const std::vector<const Token*>& values);
  ast::SelectorPtr letReference(const Token* first, const Token* last, const Token* name);
  // !inner, where inner is `depth` deep; `depth` becomes the result's.
  ast::SelectorPtr negate(const Token* first, const Token* last, ast::SelectorPtr inner,
                          int& depth);
  // left && right / left || right (kind And or Or): `depth` is left's depth
  // and becomes the result's. Null when the tree would be deeper than
  // kMaxSelectorDepth, which is reported once per file.
  ast::SelectorPtr binary(ast::Selector::Kind kind, const Token* first, const Token* last,
                          ast::SelectorPtr left, ast::SelectorPtr right, int& depth,
                          int rightDepth);

private:
  Diagnostic& error(DiagnosticId id, const Token* token, std::string message);
  ast::Span span(const Token* token) const { return {at(token), width(token)}; }
  // A node (peer, port, selector) written from `first` to `last`.
  template <typename Node> Node placed(const Token* first, const Token* last) const {
    Node node;
    node.location = at(first);
    node.length = lengthBetween(first, last);
    return node;
  }
  static int width(const Token* token);
  std::string unquote(const Token* token);
  std::vector<std::pair<IpPrefix, ast::Span>> prefixes(const std::vector<const Token*>& tokens);
  ast::PortSpec portSpec(const Token* first, const Token* last);
  std::shared_ptr<ast::Selector> node(const Token* first, const Token* last);
  void setKey(ast::Selector& s, const Token* token);
  void addValue(ast::Selector& s, const Token* token);

  std::string path_;
  Diagnostics& diagnostics_;
  bool reportedDepth_ = false;
};

} // namespace polc::frontend
