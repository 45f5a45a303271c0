#include "polc/sema/resolve_lets.h"

#include <map>

namespace polc::sema {

namespace {

class LetResolver {
public:
  explicit LetResolver(Diagnostics& diagnostics) : diagnostics_(diagnostics) {}

  void define(const ast::Let& let) {
    auto resolved = resolve(let.selector);
    if (defined_.contains(let.name)) {
      auto& d = diagnostics_.error(DiagnosticId::DuplicateLet, let.location,
                                   "'" + let.name + "' is already defined");
      d.hints.push_back("first defined at " + locations_[let.name].str());
      return;
    }
    defined_[let.name] = resolved;
    locations_[let.name] = let.location;
  }

  ast::SelectorPtr resolve(const ast::SelectorPtr& selector) {
    using Kind = ast::Selector::Kind;
    if (selector->kind == Kind::LetReference) {
      auto found = defined_.find(selector->key);
      if (found != defined_.end()) return found->second;
      auto& d = diagnostics_.error(DiagnosticId::UnknownLet, selector->location,
                                   "'" + selector->key + "' is not a defined name");
      d.length = selector->length;
      d.hints.push_back("define it first with: let " + selector->key +
                        " = <selector>, or compare a label: " + selector->key + " == \"value\"");
      return selector;
    }
    if (selector->operands.empty()) return selector;
    auto copy = std::make_shared<ast::Selector>(*selector);
    for (auto& operand : copy->operands) operand = resolve(operand);
    return copy;
  }

private:
  Diagnostics& diagnostics_;
  std::map<std::string, ast::SelectorPtr> defined_;
  std::map<std::string, SourceLocation> locations_;
};

std::optional<ast::File> resolveLets(const ast::File& file, Diagnostics& diagnostics) {
  auto errorsBefore = diagnostics.errorCount();
  LetResolver resolver(diagnostics);
  // Lets are visible from their definition on, so a name cannot refer to itself.
  for (const auto& let : file.lets) resolver.define(let);
  ast::File resolved = file;
  for (auto& policy : resolved.policies) {
    policy.select = resolver.resolve(policy.select);
    for (auto& block : policy.blocks)
      for (auto& rule : block.rules)
        if (rule.peer.kind == ast::Peer::Kind::Selector)
          rule.peer.selector = resolver.resolve(rule.peer.selector);
  }
  for (auto& defaults : resolved.defaults)
    if (defaults.selector) defaults.selector = resolver.resolve(defaults.selector);
  if (diagnostics.errorCount() > errorsBefore) return std::nullopt;
  return resolved;
}

} // namespace

pipeline::Pass createResolveLetsPass() {
  using namespace pipeline;
  return makePass<ParsedAst>("resolve-lets", "replace let references by the selectors they name",
                             {stage<CheckedAst>()},
                             [](PassContext& context, const ParsedAst& parsed) {
                               if (auto resolved = resolveLets(parsed.file, context.diagnostics()))
                                 context.put(CheckedAst{std::move(*resolved)});
                             });
}

} // namespace polc::sema
