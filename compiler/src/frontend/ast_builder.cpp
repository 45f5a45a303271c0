#include "ast_builder.h"

#include "polc/support/suggest.h"

#include <algorithm>
#include <charconv>
#include <netinet/in.h>

namespace polc::frontend {

using grammar::PolicyParser;

namespace {

constexpr std::string_view kEntityNames[] = {"world", "host", "cluster", "all"};

// A decimal number in [low, high], or nullopt (also on overflow).
std::optional<uint32_t> number(std::string_view digits, uint32_t low, uint32_t high) {
  uint32_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || value < low ||
      value > high)
    return std::nullopt;
  return value;
}

uint8_t protocol(std::string_view name) {
  return name == "tcp" ? IPPROTO_TCP : name == "udp" ? IPPROTO_UDP : IPPROTO_SCTP;
}

} // namespace

int AstBuilder::width(const Token* token) {
  return std::max(1, int(token->getStopIndex()) - int(token->getStartIndex()) + 1);
}

Diagnostic& AstBuilder::error(DiagnosticId id, const Token* token, std::string message) {
  return diagnostics_.error(id, at(token), std::move(message)).underline(width(token));
}

// The value of a string literal. Only \" and \\ are escapes: a policy has
// no use for control characters, and a stray backslash is likely a typo.
std::string AstBuilder::unquote(const Token* token) {
  auto text = token->getText();
  std::string value;
  for (size_t i = 1; i + 1 < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;
      if (text[i] != '"' && text[i] != '\\') {
        error(DiagnosticId::BadEscape, token,
              std::string("unknown escape '\\") + text[i] + "' in string")
            .hint("only \\\" and \\\\ are escapes in policy strings");
      }
    }
    value.push_back(text[i]);
  }
  return value;
}

// ---- items ----

std::optional<Include> AstBuilder::include(const Token* first, const Token* path) {
  auto name = unquote(path);
  if (name.empty()) {
    error(DiagnosticId::IncludeMissing, path, "an empty file name cannot be included");
    return std::nullopt;
  }
  return Include{name, at(first), lengthBetween(first, path)};
}

ast::Let AstBuilder::let(const Token* first, const Token* name) {
  ast::Let let;
  let.location = at(first);
  if (name) {
    let.name = name->getText();
    // IDENT admits '.', '/' for label keys; a let name is a plain word so
    // that it never reads like a label key.
    if (let.name.find_first_of("./") != std::string::npos)
      error(DiagnosticId::BadLetName, name, "let name '" + let.name + "' contains '.' or '/'")
          .hint("let names are letters, digits, '_' and '-'");
  }
  return let;
}

ast::DefaultDeny AstBuilder::defaultDeny(const Token* first) {
  ast::DefaultDeny result;
  result.location = at(first);
  return result;
}

void AstBuilder::addDirection(ast::DefaultDeny& result, const Token* direction) {
  auto value = direction->getType() == PolicyParser::INGRESS ? ast::Direction::Ingress
                                                             : ast::Direction::Egress;
  if (std::find(result.directions.begin(), result.directions.end(), value) !=
      result.directions.end()) {
    diagnostics_
        .warning(DiagnosticId::DuplicateDirection, at(direction),
                 "'" + direction->getText() + "' is listed twice")
        .underline(width(direction));
    return;
  }
  result.directions.push_back(value);
}

ast::Policy AstBuilder::policy(const Token* first, bool audit, const Token* name) {
  ast::Policy policy;
  policy.audit = audit;
  if (name) {
    policy.name = unquote(name);
    if (policy.name.empty()) error(DiagnosticId::EmptyName, name, "a policy needs a name");
  }
  policy.location = at(first);
  return policy;
}

ast::DirectionBlock AstBuilder::block(const Token* direction) {
  ast::DirectionBlock block;
  block.direction = direction->getType() == PolicyParser::INGRESS ? ast::Direction::Ingress
                                                                  : ast::Direction::Egress;
  block.location = at(direction);
  return block;
}

ast::Rule AstBuilder::rule(const Token* first, const Token* verdict, const Token* peerWord,
                           ast::Direction direction) {
  ast::Rule rule;
  rule.verdict =
      verdict->getType() == PolicyParser::ALLOW ? ast::Verdict::Allow : ast::Verdict::Deny;
  rule.direction = direction;
  rule.location = at(first);
  bool saysFrom = peerWord && peerWord->getType() == PolicyParser::FROM;
  if (peerWord && saysFrom != (direction == ast::Direction::Ingress)) {
    auto word = direction == ast::Direction::Ingress ? "from" : "to";
    error(DiagnosticId::PeerDirection, peerWord,
          std::string("an ") + std::string(ast::toString(direction)) +
              " rule names its peer with '" + word + "'")
        .hint("write '" + verdict->getText() + " " + word + " ...'");
  }
  return rule;
}

// ---- peers ----

ast::Peer AstBuilder::peer(const Token* first, const Token* last) {
  return placed<ast::Peer>(first, last);
}

void AstBuilder::namedPeer(ast::Peer& peer, ast::Peer::Kind kind, const Token* name) {
  peer.kind = kind;
  peer.name = unquote(name);
  if (peer.name.empty())
    error(DiagnosticId::EmptyName, name,
          kind == ast::Peer::Kind::Service ? "a service peer needs a name"
                                           : "a group peer needs a name");
}

ast::Entity AstBuilder::entity(const Token* token) {
  auto name = token->getText();
  for (size_t i = 0; i < std::size(kEntityNames); ++i)
    if (name == kEntityNames[i]) return ast::Entity(i);
  // Four short names: allow two edits, so that "any" suggests "all".
  auto suggestion = closestMatch(
      name, std::vector<std::string>(std::begin(kEntityNames), std::end(kEntityNames)), 2);
  auto& d = error(DiagnosticId::UnknownEntity, token,
                  "unknown entity '" + name + "'" +
                      (suggestion ? ": did you mean '" + *suggestion + "'?" : ""));
  d.hint("the entities are world, host, cluster and all");
  return ast::Entity::All;
}

std::vector<std::pair<IpPrefix, ast::Span>>
AstBuilder::prefixes(const std::vector<const Token*>& tokens) {
  std::vector<std::pair<IpPrefix, ast::Span>> result;
  for (const auto* token : tokens) {
    PrefixError why;
    auto prefix = parsePrefix(token->getText(), &why);
    if (!prefix) {
      error(DiagnosticId::BadCidr, token, why.message).hint(why.hint);
      continue;
    }
    result.emplace_back(*prefix, span(token));
  }
  return result;
}

ast::CidrPeer AstBuilder::cidr(const std::vector<const Token*>& prefixTokens,
                               const std::vector<const Token*>& exceptTokens) {
  ast::CidrPeer result;
  result.prefixes = prefixes(prefixTokens);
  if (exceptTokens.empty()) return result;
  result.except = prefixes(exceptTokens);
  // A prefix that did not parse (its error said why) cannot tell whether an
  // except lies inside it: no second, misleading error.
  if (result.prefixes.size() != prefixTokens.size()) return result;
  for (const auto& [hole, where] : result.except) {
    const IpPrefix& except = hole; // clang 14 cannot capture a structured binding
    bool inside = std::any_of(result.prefixes.begin(), result.prefixes.end(),
                              [&](const auto& p) { return p.first.contains(except); });
    if (inside) continue;
    auto& d = diagnostics_
                  .error(DiagnosticId::CidrExcept, where.location,
                         "except " + hole.text(true) + " is not inside any prefix of this peer")
                  .underline(where.length);
    d.hint("an except removes part of a listed prefix, e.g. cidr 10.0.0.0/8 except 10.1.0.0/16");
  }
  return result;
}

// ---- ports ----

ast::PortSpec AstBuilder::portSpec(const Token* first, const Token* last) {
  return placed<ast::PortSpec>(first, last);
}

void AstBuilder::wholeProtocol(const Token* token, std::vector<ast::PortSpec>& out) {
  auto spec = portSpec(token, token);
  spec.protocol = protocol(token->getText());
  out.push_back(spec);
}

void AstBuilder::icmp(const Token* protocolToken, const Token* type, const Token* code,
                      const Token* last, std::vector<ast::PortSpec>& out) {
  auto spec = portSpec(protocolToken, last);
  spec.protocol = protocolToken->getType() == PolicyParser::ICMP ? uint8_t(IPPROTO_ICMP)
                                                                 : uint8_t(IPPROTO_ICMPV6);
  bool ok = true;
  auto field = [&](const Token* token, const char* what) -> std::optional<uint8_t> {
    if (!token) return std::nullopt;
    auto value = number(token->getText(), 0, 255);
    if (!value) {
      error(DiagnosticId::IcmpRange, token,
            std::string("ICMP ") + what + " " + token->getText() + " is out of range")
          .hint(std::string("an ICMP ") + what + " is 0 to 255");
      ok = false;
      return std::nullopt;
    }
    return uint8_t(*value);
  };
  spec.icmpType = field(type, "type");
  spec.icmpCode = field(code, "code");
  if (ok) out.push_back(spec);
}

void AstBuilder::portNumbers(const Token* token, std::vector<ast::PortSpec>& out) {
  auto spec = portSpec(token, token);
  auto text = token->getText();
  auto slash = text.find('/');
  auto protocolText = text.substr(0, slash);
  auto port = text.substr(slash + 1);
  spec.protocol = protocol(protocolText);
  if (port.empty()) {
    error(DiagnosticId::PortRange, token, "missing port after '" + text + "'")
        .hint("write " + protocolText + "/443, " + protocolText + "/8000-8999, or " + protocolText +
              " alone for every port");
    return;
  }
  if (std::isdigit(static_cast<unsigned char>(port[0]))) {
    auto dash = port.find('-');
    auto firstText = port.substr(0, dash);
    auto lastText = dash == std::string::npos ? firstText : port.substr(dash + 1);
    auto digitsOnly = [](const std::string& s) {
      return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      });
    };
    if (!digitsOnly(firstText) || !digitsOnly(lastText)) {
      error(DiagnosticId::PortRange, token, "'" + text + "' is not a port or port range")
          .hint("write " + protocolText + "/80 or " + protocolText + "/8000-8999");
      return;
    }
    auto first = number(firstText, 1, 65535);
    auto last = number(lastText, 1, 65535);
    if (!first || !last) {
      auto bad = !first ? firstText : lastText;
      auto& d = error(DiagnosticId::PortRange, token,
                      "port " + bad + " is out of range in '" + text + "'");
      d.hint("ports are 1 to 65535");
      if (bad.find_first_not_of('0') == std::string::npos)
        d.hint("write '" + protocolText + "' alone for every " + protocolText + " port");
      return;
    }
    if (*first > *last) {
      error(DiagnosticId::PortRange, token,
            "empty port range '" + text + "': the first port is above the last")
          .hint("write " + protocolText + "/" + lastText + "-" + firstText);
      return;
    }
    spec.first = uint16_t(*first);
    spec.last = uint16_t(*last);
    out.push_back(spec);
    return;
  }
  // A named port, resolved per destination endpoint by sema. Names follow
  // IANA service names: lowercase letters, digits and '-', at most 15.
  bool valid = port.size() <= 15 && port.front() != '-' && port.back() != '-' &&
               std::all_of(port.begin(), port.end(), [](char c) {
                 return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
               });
  if (!valid) {
    auto& d = error(DiagnosticId::BadPortName, token, "'" + port + "' is not a valid port name");
    std::string lower = port;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    if (lower != port)
      d.hint("port names are lowercase: write " + protocolText + "/" + lower);
    else
      d.hint("port names are up to 15 lowercase letters, digits and '-', not starting or "
             "ending with '-'");
    return;
  }
  spec.namedPort = port;
  out.push_back(spec);
}

// ---- selectors ----

std::shared_ptr<ast::Selector> AstBuilder::node(const Token* first, const Token* last) {
  return std::make_shared<ast::Selector>(placed<ast::Selector>(first, last));
}

void AstBuilder::setKey(ast::Selector& s, const Token* token) {
  s.key = token->getText();
  s.keySpan = span(token);
}

void AstBuilder::addValue(ast::Selector& s, const Token* token) {
  s.values.push_back(unquote(token));
  s.valueSpans.push_back(span(token));
}

ast::SelectorPtr AstBuilder::any(const Token* first, const Token* last) {
  auto result = node(first, last);
  result->kind = ast::Selector::Kind::Any;
  return result;
}

ast::SelectorPtr AstBuilder::has(const Token* first, const Token* last, const Token* key) {
  auto result = node(first, last);
  result->kind = ast::Selector::Kind::Has;
  setKey(*result, key);
  return result;
}

ast::SelectorPtr AstBuilder::compare(const Token* first, const Token* last, const Token* key,
                                     const Token* op, const Token* value) {
  auto result = node(first, last);
  result->kind = op->getType() == PolicyParser::EQ ? ast::Selector::Kind::Equal
                                                   : ast::Selector::Kind::NotEqual;
  setKey(*result, key);
  addValue(*result, value);
  return result;
}

ast::SelectorPtr AstBuilder::set(const Token* first, const Token* last, const Token* key,
                                 const Token* op, const std::vector<const Token*>& values) {
  auto result = node(first, last);
  result->kind =
      op->getType() == PolicyParser::IN ? ast::Selector::Kind::In : ast::Selector::Kind::NotIn;
  setKey(*result, key);
  for (const auto* value : values) addValue(*result, value);
  return result;
}

ast::SelectorPtr AstBuilder::letReference(const Token* first, const Token* last,
                                          const Token* name) {
  auto result = node(first, last);
  result->kind = ast::Selector::Kind::LetReference;
  setKey(*result, name);
  return result;
}

ast::SelectorPtr AstBuilder::negate(const Token* first, const Token* last, ast::SelectorPtr inner,
                                    int& depth) {
  auto result = node(first, last);
  if (inner->kind == ast::Selector::Kind::Has) {
    // `!has(k)` is its own kind: "the key is absent" is a label test, not
    // a negated expression, for the selector matcher.
    auto notHas = std::make_shared<ast::Selector>(*inner);
    notHas->kind = ast::Selector::Kind::NotHas;
    notHas->location = result->location;
    notHas->length = result->length;
    depth = 1;
    return notHas;
  }
  result->kind = ast::Selector::Kind::Not;
  result->operands.push_back(std::move(inner));
  depth += 1;
  return result;
}

ast::SelectorPtr AstBuilder::binary(ast::Selector::Kind kind, const Token* first, const Token* last,
                                    ast::SelectorPtr left, ast::SelectorPtr right, int& depth,
                                    int rightDepth) {
  depth = std::max(depth, rightDepth) + 1;
  if (depth > kMaxSelectorDepth) {
    if (!reportedDepth_)
      diagnostics_
          .error(DiagnosticId::Nesting, at(first),
                 "selector too long: more than " + std::to_string(kMaxSelectorDepth) +
                     " operators deep")
          .hint("list values with 'in (...)', or split the selector with 'let' names");
    reportedDepth_ = true;
    return nullptr;
  }
  auto combined = node(first, last);
  combined->kind = kind;
  combined->operands = {std::move(left), std::move(right)};
  return combined;
}

} // namespace polc::frontend
