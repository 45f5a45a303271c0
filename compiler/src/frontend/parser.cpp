#include "polc/frontend/parser.h"

#include "syntax.h"

#include "polc/support/files.h"
#include "polc/support/suggest.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <netinet/in.h>
#include <set>
#include <span>
#include <variant>

namespace polc::frontend {

using grammar::PolicyParser;
using Token = antlr4::Token;

namespace {

// How deep a selector's tree may be. Parentheses are limited before
// parsing (kMaxNesting); this bounds the long '&&'/'||' chains, which ANTLR
// parses with a loop but which become as deep a tree as they are long, and
// every later pass walks selectors recursively.
constexpr int kMaxSelectorDepth = 1000;

constexpr std::string_view kEntityNames[] = {"world", "host", "cluster", "all"};

struct Include {
  std::string path; // as written
  SourceLocation location;
  int length = 1;
};

// One file's items in file order, with includes where they were written, so
// that included items merge in at the point of inclusion.
using Item = std::variant<ast::Let, ast::Policy, ast::DefaultDeny, Include>;

// Builds the items of a parse tree. In a tree with syntax errors, it builds
// only the parts that parsed (see intact()): their errors are reported, and
// their includes read, but the items are not meant to be used.
class AstBuilder {
public:
  AstBuilder(const SyntaxTree& tree, Diagnostics& diagnostics)
      : tree_(tree), diagnostics_(diagnostics), clean_(tree.syntaxErrors == 0) {}

  std::vector<Item> build(PolicyParser::FileContext* file) {
    std::vector<Item> items;
    for (auto* item : file->item()) {
      if (auto* include = item->includeDecl()) {
        if (!usable(include->path)) continue;
        auto path = unquote(include->path);
        if (path.empty())
          error(DiagnosticId::IncludeMissing, include->path,
                "an empty file name cannot be included");
        else
          items.push_back(Include{path, at(include->getStart()),
                                  SyntaxTree::lengthBetween(include->getStart(), include->path)});
      } else if (auto* let = item->letDecl()) {
        items.push_back(buildLet(let));
      } else if (auto* policy = item->policyDecl()) {
        items.push_back(buildPolicy(policy));
      } else if (auto* defaults = item->defaultDecl()) {
        items.push_back(buildDefault(defaults));
      }
    }
    return items;
  }

private:
  // Whether a part of the tree may be built: always in a file without
  // syntax errors, else only if it parsed whole.
  bool usable(antlr4::tree::ParseTree* tree) const { return tree && (clean_ || intact(tree)); }
  static bool usable(const Token* token) {
    return token && token->getTokenIndex() != INVALID_INDEX;
  }

  SourceLocation at(const Token* token) const { return tree_.at(token); }
  static int width(const Token* token) {
    return std::max(1, int(token->getStopIndex()) - int(token->getStartIndex()) + 1);
  }
  ast::Span span(const Token* token) const { return {at(token), width(token)}; }

  Diagnostic& error(DiagnosticId id, const Token* token, std::string message) {
    return diagnostics_.error(id, at(token), std::move(message)).underline(width(token));
  }

  // The value of a string literal. Only \" and \\ are escapes: a policy has
  // no use for control characters, and a stray backslash is likely a typo.
  std::string unquote(const Token* token) {
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

  ast::Let buildLet(PolicyParser::LetDeclContext* ctx) {
    ast::Let let;
    let.location = at(ctx->getStart());
    if (usable(ctx->name) && ctx->name->getType() == PolicyParser::IDENT) {
      let.name = ctx->name->getText();
      // IDENT admits '.', '/' for label keys; a let name is a plain word so
      // that it never reads like a label key.
      if (let.name.find_first_of("./") != std::string::npos)
        error(DiagnosticId::BadLetName, ctx->name,
              "let name '" + let.name + "' contains '.' or '/'")
            .hint("let names are letters, digits, '_' and '-'");
    }
    if (usable(ctx->selector())) let.selector = selector(ctx->selector());
    return let;
  }

  static ast::Direction direction(PolicyParser::DirectionContext* ctx) {
    return ctx->INGRESS() ? ast::Direction::Ingress : ast::Direction::Egress;
  }

  ast::DefaultDeny buildDefault(PolicyParser::DefaultDeclContext* ctx) {
    ast::DefaultDeny result;
    result.location = at(ctx->getStart());
    for (auto* d : ctx->direction()) {
      if (!usable(d)) continue;
      auto value = direction(d);
      if (std::find(result.directions.begin(), result.directions.end(), value) !=
          result.directions.end()) {
        diagnostics_
            .warning(DiagnosticId::DuplicateDirection, at(d->getStart()),
                     "'" + d->getText() + "' is listed twice")
            .underline(width(d->getStart()));
        continue;
      }
      result.directions.push_back(value);
    }
    if (auto* s = ctx->selector(); usable(s)) result.selector = selector(s);
    return result;
  }

  ast::Policy buildPolicy(PolicyParser::PolicyDeclContext* ctx) {
    ast::Policy policy;
    if (usable(ctx->name) && ctx->name->getType() == PolicyParser::STRING) {
      policy.name = unquote(ctx->name);
      if (policy.name.empty()) error(DiagnosticId::EmptyName, ctx->name, "a policy needs a name");
    }
    policy.location = at(ctx->getStart());
    if (auto* select = ctx->selectClause(); select && usable(select->selector()))
      policy.select = selector(select->selector());
    for (auto* block : ctx->directionBlock()) {
      if (!usable(block->direction())) continue;
      ast::DirectionBlock b;
      b.direction = direction(block->direction());
      b.location = at(block->getStart());
      for (auto* rule : block->ruleDecl()) b.rules.push_back(buildRule(rule, b.direction));
      policy.blocks.push_back(std::move(b));
    }
    return policy;
  }

  ast::Rule buildRule(PolicyParser::RuleDeclContext* ctx, ast::Direction direction) {
    ast::Rule rule;
    rule.verdict =
        ctx->verdict->getType() == PolicyParser::ALLOW ? ast::Verdict::Allow : ast::Verdict::Deny;
    rule.direction = direction;
    rule.location = at(ctx->getStart());
    rule.length = SyntaxTree::lengthBetween(ctx->getStart(), ctx->getStop());
    // Recovery may have conjured the word, or left the wrong one here.
    auto* word = ctx->peerDirection;
    bool written = usable(word) &&
                   (word->getType() == PolicyParser::FROM || word->getType() == PolicyParser::TO);
    bool saysFrom = written && word->getType() == PolicyParser::FROM;
    if (written && saysFrom != (direction == ast::Direction::Ingress)) {
      auto word = direction == ast::Direction::Ingress ? "from" : "to";
      error(DiagnosticId::PeerDirection, ctx->peerDirection,
            std::string("an ") + std::string(ast::toString(direction)) +
                " rule names its peer with '" + word + "'")
          .hint("write '" + ctx->verdict->getText() + " " + word + " ...'");
    }
    if (usable(ctx->peer())) rule.peer = peer(ctx->peer());
    if (auto* ports = ctx->portList())
      for (auto* spec : ports->portSpec())
        if (usable(spec)) portSpec(spec, rule.ports);
    return rule;
  }

  // ---- peers ----

  ast::Peer peer(PolicyParser::PeerContext* ctx) {
    ast::Peer result;
    result.location = at(ctx->getStart());
    result.length = SyntaxTree::lengthBetween(ctx->getStart(), ctx->getStop());
    if (auto* c = dynamic_cast<PolicyParser::SelectorPeerContext*>(ctx)) {
      result.kind = ast::Peer::Kind::Selector;
      result.selector = selector(c->selector());
    } else if (auto* c = dynamic_cast<PolicyParser::ServicePeerContext*>(ctx)) {
      result.kind = ast::Peer::Kind::Service;
      result.name = unquote(c->name);
      if (result.name.empty())
        error(DiagnosticId::EmptyName, c->name, "a service peer needs a name");
    } else if (auto* c = dynamic_cast<PolicyParser::GroupPeerContext*>(ctx)) {
      result.kind = ast::Peer::Kind::Group;
      result.name = unquote(c->name);
      if (result.name.empty()) error(DiagnosticId::EmptyName, c->name, "a group peer needs a name");
    } else if (auto* c = dynamic_cast<PolicyParser::EntityPeerContext*>(ctx)) {
      result.kind = ast::Peer::Kind::Entity;
      result.entity = entity(c->entityName()->getStart());
    } else if (auto* c = dynamic_cast<PolicyParser::CidrPeerContext*>(ctx)) {
      result.kind = ast::Peer::Kind::Cidr;
      result.cidr = cidr(c);
    }
    return result;
  }

  ast::Entity entity(const Token* token) {
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

  std::vector<std::pair<IpPrefix, ast::Span>> prefixes(PolicyParser::CidrListContext* ctx) {
    std::vector<std::pair<IpPrefix, ast::Span>> result;
    for (auto* node : ctx->CIDR_PREFIX()) {
      auto* token = node->getSymbol();
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

  ast::CidrPeer cidr(PolicyParser::CidrPeerContext* ctx) {
    ast::CidrPeer result;
    result.prefixes = prefixes(ctx->prefixes);
    if (!ctx->except) return result;
    result.except = prefixes(ctx->except);
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

  // A decimal number in [low, high], or nullopt (also on overflow).
  static std::optional<uint32_t> number(std::string_view digits, uint32_t low, uint32_t high) {
    uint32_t value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
        value < low || value > high)
      return std::nullopt;
    return value;
  }

  void portSpec(PolicyParser::PortSpecContext* ctx, std::vector<ast::PortSpec>& out) {
    ast::PortSpec spec;
    spec.location = at(ctx->getStart());
    spec.length = SyntaxTree::lengthBetween(ctx->getStart(), ctx->getStop());
    if (auto* c = dynamic_cast<PolicyParser::WholeProtocolSpecContext*>(ctx)) {
      spec.protocol = protocol(c->protocol->getText());
      out.push_back(spec);
    } else if (auto* c = dynamic_cast<PolicyParser::IcmpSpecContext*>(ctx)) {
      spec.protocol = c->protocol->getType() == PolicyParser::ICMP ? uint8_t(IPPROTO_ICMP)
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
      spec.icmpType = field(c->icmpType, "type");
      spec.icmpCode = field(c->icmpCode, "code");
      if (ok) out.push_back(spec);
    } else if (auto* c = dynamic_cast<PolicyParser::PortNumberSpecContext*>(ctx)) {
      portNumbers(c->PORT_SPEC()->getSymbol(), spec, out);
    }
  }

  static uint8_t protocol(std::string_view name) {
    return name == "tcp" ? IPPROTO_TCP : name == "udp" ? IPPROTO_UDP : IPPROTO_SCTP;
  }

  // tcp/80, tcp/8000-8999 or tcp/http (one PORT_SPEC token).
  void portNumbers(const Token* token, ast::PortSpec spec, std::vector<ast::PortSpec>& out) {
    auto text = token->getText();
    auto slash = text.find('/');
    auto protocolText = text.substr(0, slash);
    auto port = text.substr(slash + 1);
    spec.protocol = protocol(protocolText);
    if (port.empty()) {
      error(DiagnosticId::PortRange, token, "missing port after '" + text + "'")
          .hint("write " + protocolText + "/443, " + protocolText + "/8000-8999, or " +
                protocolText + " alone for every port");
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

  static bool isBinary(PolicyParser::SelectorContext* ctx) {
    return dynamic_cast<PolicyParser::AndSelectorContext*>(ctx) ||
           dynamic_cast<PolicyParser::OrSelectorContext*>(ctx);
  }
  static PolicyParser::SelectorContext* operand(PolicyParser::SelectorContext* ctx, size_t i) {
    if (auto* c = dynamic_cast<PolicyParser::AndSelectorContext*>(ctx)) return c->selector(i);
    return dynamic_cast<PolicyParser::OrSelectorContext*>(ctx)->selector(i);
  }

  std::shared_ptr<ast::Selector> node(PolicyParser::SelectorContext* ctx) {
    auto result = std::make_shared<ast::Selector>();
    result->location = at(ctx->getStart());
    result->length = SyntaxTree::lengthBetween(ctx->getStart(), ctx->getStop());
    return result;
  }

  // Builds a selector. A chain `a && b && c ...` is a left-deep tree as
  // long as the chain; its left spine is walked with a loop so that the
  // recursion here is bounded by the nesting limit alone.
  ast::SelectorPtr selector(PolicyParser::SelectorContext* root) {
    int ignored = 0;
    return selector(root, ignored);
  }

  ast::SelectorPtr selector(PolicyParser::SelectorContext* root, int& treeDepth) {
    std::vector<PolicyParser::SelectorContext*> spine;
    auto* ctx = root;
    while (isBinary(ctx)) {
      spine.push_back(ctx);
      ctx = operand(ctx, 0);
    }
    ast::SelectorPtr result = primary(ctx, treeDepth);
    for (auto it = spine.rbegin(); it != spine.rend(); ++it) {
      int rightDepth = 0;
      auto right = selector(operand(*it, 1), rightDepth);
      treeDepth = std::max(treeDepth, rightDepth) + 1;
      if (treeDepth > kMaxSelectorDepth) {
        if (!reportedDepth_)
          diagnostics_
              .error(DiagnosticId::Nesting, at((*it)->getStart()),
                     "selector too long: more than " + std::to_string(kMaxSelectorDepth) +
                         " operators deep")
              .hint("list values with 'in (...)', or split the selector with 'let' names");
        reportedDepth_ = true;
        return std::make_shared<ast::Selector>();
      }
      auto combined = node(*it);
      combined->kind = dynamic_cast<PolicyParser::AndSelectorContext*>(*it)
                           ? ast::Selector::Kind::And
                           : ast::Selector::Kind::Or;
      combined->operands = {std::move(result), std::move(right)};
      result = std::move(combined);
    }
    return result;
  }

  ast::SelectorPtr primary(PolicyParser::SelectorContext* ctx, int& treeDepth) {
    using Kind = ast::Selector::Kind;
    if (auto* c = dynamic_cast<PolicyParser::ParenSelectorContext*>(ctx))
      return selector(c->selector(), treeDepth);
    auto result = node(ctx);
    treeDepth = 1;
    if (auto* c = dynamic_cast<PolicyParser::NotSelectorContext*>(ctx)) {
      int innerDepth = 0;
      auto inner = selector(c->selector(), innerDepth);
      treeDepth = innerDepth + 1;
      if (inner->kind == Kind::Has) {
        // `!has(k)` is its own kind: "the key is absent" is a label test,
        // not a negated expression, for the selector matcher.
        auto notHas = std::make_shared<ast::Selector>(*inner);
        notHas->kind = Kind::NotHas;
        notHas->location = result->location;
        notHas->length = result->length;
        treeDepth = 1;
        return notHas;
      }
      result->kind = Kind::Not;
      result->operands.push_back(std::move(inner));
    } else if (dynamic_cast<PolicyParser::AnySelectorContext*>(ctx)) {
      result->kind = Kind::Any;
    } else if (auto* c = dynamic_cast<PolicyParser::HasSelectorContext*>(ctx)) {
      result->kind = Kind::Has;
      setKey(*result, c->labelKey()->getStart());
    } else if (auto* c = dynamic_cast<PolicyParser::CompareSelectorContext*>(ctx)) {
      result->kind = c->op->getType() == PolicyParser::EQ ? Kind::Equal : Kind::NotEqual;
      setKey(*result, c->labelKey()->getStart());
      addValue(*result, c->STRING()->getSymbol());
    } else if (auto* c = dynamic_cast<PolicyParser::SetSelectorContext*>(ctx)) {
      result->kind = c->op->getType() == PolicyParser::IN ? Kind::In : Kind::NotIn;
      setKey(*result, c->labelKey()->getStart());
      for (auto* value : c->STRING()) addValue(*result, value->getSymbol());
    } else if (auto* c = dynamic_cast<PolicyParser::LetReferenceContext*>(ctx)) {
      result->kind = Kind::LetReference;
      setKey(*result, c->IDENT()->getSymbol());
    }
    return result;
  }

  void setKey(ast::Selector& s, const Token* token) {
    s.key = token->getText();
    s.keySpan = span(token);
  }
  void addValue(ast::Selector& s, const Token* token) {
    s.values.push_back(unquote(token));
    s.valueSpans.push_back(span(token));
  }

  const SyntaxTree& tree_;
  Diagnostics& diagnostics_;
  bool clean_; // no syntax errors
  bool reportedDepth_ = false;
};

// Parses one file's text into its items; nullopt if it could not be parsed
// at all. With syntax errors, the items are the parts that parsed, for
// their diagnostics and includes: the caller sees the errors and drops them.
std::optional<std::vector<Item>> parseItems(const std::string& path, const std::string& text,
                                            Diagnostics& diagnostics) {
  auto tree = parseSyntax(path, text, diagnostics);
  if (!tree->file) return std::nullopt;
  return AstBuilder(*tree, diagnostics).build(tree->file);
}

// Reads a root file and its includes depth-first, merging every file's
// items at the point of its include; each file is read once.
class IncludeLoader {
public:
  explicit IncludeLoader(Diagnostics& diagnostics) : diagnostics_(diagnostics) {}

  ast::File load(const std::string& path, const std::string& text) {
    result_.path = path;
    read(path, text, {}, 1);
    return std::move(result_);
  }

private:
  struct Frame {
    std::string identity; // canonical path
    std::string path;     // as displayed
    SourceLocation includedAt;
    int includeLength = 1;
  };

  static std::string identity(const std::string& path) {
    std::error_code ec;
    auto canonical = std::filesystem::weakly_canonical(path, ec);
    if (ec) return std::filesystem::path(path).lexically_normal().string();
    return canonical.string();
  }

  void read(const std::string& path, const std::string& text, SourceLocation includedAt,
            int includeLength) {
    auto id = identity(path);
    seen_.insert(id);
    stack_.push_back({id, path, std::move(includedAt), includeLength});
    result_.files.push_back(path);
    auto items = parseItems(path, text, diagnostics_);
    if (items) {
      for (auto& item : *items) {
        if (auto* include = std::get_if<Include>(&item)) {
          follow(path, *include);
        } else if (auto* let = std::get_if<ast::Let>(&item)) {
          result_.lets.push_back(std::move(*let));
        } else if (auto* policy = std::get_if<ast::Policy>(&item)) {
          result_.policies.push_back(std::move(*policy));
        } else if (auto* defaults = std::get_if<ast::DefaultDeny>(&item)) {
          result_.defaults.push_back(std::move(*defaults));
        }
      }
    }
    stack_.pop_back();
  }

  void follow(const std::string& includer, const Include& include) {
    std::filesystem::path target = include.path;
    if (target.is_relative()) target = std::filesystem::path(includer).parent_path() / target;
    auto path = target.lexically_normal().string();
    auto id = identity(path);
    auto onStack = std::find_if(stack_.begin(), stack_.end(),
                                [&](const Frame& frame) { return frame.identity == id; });
    if (onStack != stack_.end()) {
      auto& d = diagnostics_
                    .error(DiagnosticId::IncludeCycle, include.location,
                           "include cycle: " + includer + " includes " + onStack->path +
                               ", which is already being read")
                    .underline(include.length);
      for (auto step = onStack + 1; step != stack_.end(); ++step)
        d.note(step->includedAt, step->includeLength,
               (step - 1)->path + " includes " + step->path + " here");
      d.hint("each file may be included once; remove one include of the cycle");
      return;
    }
    if (seen_.count(id)) return; // a diamond: already merged once
    auto text = readFile(path);
    if (!text) {
      // readFile says "cannot read PATH: why"; the message names the path once.
      std::string why = text.error();
      if (auto prefix = "cannot read " + path + ": "; why.starts_with(prefix))
        why.erase(0, prefix.size());
      auto& d = diagnostics_
                    .error(DiagnosticId::IncludeMissing, include.location,
                           "cannot read included file '" + path + "': " + why)
                    .underline(include.length);
      // Only a file that is not there may be a mistaken relative path; a
      // FIFO, a device or a file too large is what it is.
      if (std::error_code ec; !std::filesystem::exists(path, ec))
        d.hint("include paths are relative to the including file");
      return;
    }
    read(path, *text, include.location, include.length);
  }

  Diagnostics& diagnostics_;
  ast::File result_;
  std::set<std::string> seen_;
  std::vector<Frame> stack_;
};

} // namespace

std::optional<ast::File> parseText(const std::string& path, std::string text,
                                   Diagnostics& diagnostics) {
  auto errorsBefore = diagnostics.errorCount();
  auto file = IncludeLoader(diagnostics).load(path, text);
  if (diagnostics.errorCount() > errorsBefore) return std::nullopt;
  return file;
}

std::optional<ast::File> parseFile(const std::string& path, Diagnostics& diagnostics) {
  auto text = readFile(path);
  if (!text) {
    diagnostics.error(DiagnosticId::Io, {path, 0, 0}, text.error());
    return std::nullopt;
  }
  return parseText(path, std::move(*text), diagnostics);
}

} // namespace polc::frontend
