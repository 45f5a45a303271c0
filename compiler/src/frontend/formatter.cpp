#include "polc/frontend/formatter.h"

#include "syntax.h"

#include <algorithm>

namespace polc::frontend {

using grammar::PolicyParser;
using Token = antlr4::Token;

namespace {

constexpr int kIndentWidth = 2;
// A logical line broken by a comment continues this much deeper.
constexpr int kContinuation = 2;

// Lays out the tokens of a parse tree line by line. The tree only says where
// lines start and how deep they are; the text between is the token stream
// itself, so every token and comment is emitted exactly once, in order.
class Layout {
public:
  explicit Layout(SyntaxTree& tree) : tree_(tree) {}

  // Emits the tokens up to and including `last` as one logical line that
  // starts at `first` with `indent`. Comments found before `first` go on
  // their own lines at `commentIndent` (or trail the previous line).
  void line(const Token* first, const Token* last, int indent, int commentIndent,
            bool blankAllowed = true) {
    while (next_ < first->getTokenIndex()) emitHidden(tree_.tokens.get(next_++), commentIndent);
    lineIndent_ = indent;
    blankAllowed_ = blankAllowed;
    while (next_ <= last->getTokenIndex()) {
      auto* token = tree_.tokens.get(next_++);
      if (token->getChannel() != Token::DEFAULT_CHANNEL)
        emitHidden(token, indent + kContinuation);
      else
        emitToken(token);
    }
    endLine();
  }

  // Comments after the last item.
  std::string finish() {
    auto size = tree_.tokens.size();
    while (next_ < size) {
      auto* token = tree_.tokens.get(next_++);
      if (token->getType() != Token::EOF) emitHidden(token, 0);
    }
    std::string text;
    for (const auto& line : lines_) text += line + "\n";
    return text;
  }

private:
  static std::string spaces(int levels) { return std::string(size_t(levels * kIndentWidth), ' '); }

  static bool spaceBetween(size_t previous, size_t next) {
    if (next == PolicyParser::RPAREN || next == PolicyParser::COMMA) return false;
    if (previous == PolicyParser::LPAREN || previous == PolicyParser::NOT) return false;
    if (previous == PolicyParser::HAS && next == PolicyParser::LPAREN) return false;
    if (previous == PolicyParser::LBRACE && next == PolicyParser::RBRACE) return false;
    return true;
  }

  // Did the source have a blank line between the last emitted token and this one?
  bool blankBefore(const Token* token) const {
    if (!emittedAny_ || token->getStartIndex() <= lastStop_ + 1) return false;
    auto between = tree_.input.getText(
        antlr4::misc::Interval(ssize_t(lastStop_) + 1, ssize_t(token->getStartIndex()) - 1));
    return std::count(between.begin(), between.end(), '\n') >= 2;
  }

  // At most one blank line, never at the top or just inside a '{'.
  void maybeBlank(const Token* token) {
    if (blankBefore(token) && !lines_.empty() && !lines_.back().empty() && !afterOpenBrace_)
      lines_.emplace_back();
  }

  void remember(const Token* token) {
    emittedAny_ = true;
    lastLine_ = token->getLine();
    lastStop_ = token->getStopIndex();
  }

  void emitHidden(const Token* comment, int indent) {
    if (comment->getType() != PolicyParser::COMMENT) return;
    auto text = comment->getText();
    text.erase(text.find_last_not_of(" \t\r") + 1);
    if (emittedAny_ && comment->getLine() == lastLine_) {
      // Trails the code before it; whatever follows starts a new line.
      if (inLine_) {
        current_ += " " + text;
        lines_.push_back(std::move(current_));
        inLine_ = false;
      } else {
        lines_.back() += " " + text;
      }
    } else {
      if (inLine_) {
        lines_.push_back(std::move(current_));
        inLine_ = false;
      }
      if (!midLine_) maybeBlank(comment);
      lines_.push_back(spaces(indent) + text);
      afterOpenBrace_ = false;
    }
    remember(comment);
  }

  void emitToken(const Token* token) {
    auto text = token->getText();
    auto type = token->getType();
    if (!inLine_) {
      if (!midLine_) {
        if (blankAllowed_) maybeBlank(token);
        current_ = spaces(lineIndent_) + text;
      } else {
        current_ = spaces(lineIndent_ + kContinuation) + text;
      }
      inLine_ = true;
      midLine_ = true;
    } else {
      current_ += (spaceBetween(previousType_, type) ? " " : "") + text;
    }
    previousType_ = type;
    afterOpenBrace_ = type == PolicyParser::LBRACE;
    remember(token);
  }

  void endLine() {
    if (inLine_) lines_.push_back(std::move(current_));
    current_.clear();
    inLine_ = false;
    midLine_ = false;
  }

  SyntaxTree& tree_;
  size_t next_ = 0; // next token index to emit
  std::vector<std::string> lines_;
  std::string current_;
  bool inLine_ = false;  // current_ holds text
  bool midLine_ = false; // a logical line has started (and may have been broken)
  int lineIndent_ = 0;
  bool blankAllowed_ = true;
  bool afterOpenBrace_ = false;
  size_t previousType_ = 0;
  bool emittedAny_ = false;
  size_t lastLine_ = 0;
  size_t lastStop_ = 0;
};

bool hasHiddenBetween(SyntaxTree& tree, const Token* open, const Token* close) {
  for (auto i = open->getTokenIndex() + 1; i < close->getTokenIndex(); ++i)
    if (tree.tokens.get(i)->getChannel() != Token::DEFAULT_CHANNEL) return true;
  return false;
}

} // namespace

std::optional<std::string> formatText(const std::string& path, const std::string& text,
                                      Diagnostics& diagnostics) {
  auto tree = parseSyntax(path, text, diagnostics);
  if (!tree->ok()) return std::nullopt;
  Layout layout(*tree);
  for (auto* item : tree->file->item()) {
    auto* policy = item->policyDecl();
    if (!policy) {
      layout.line(item->getStart(), item->getStop(), 0, 0);
      continue;
    }
    auto* open = policy->LBRACE()->getSymbol();
    auto* close = policy->RBRACE()->getSymbol();
    layout.line(policy->getStart(), open, 0, 0);
    auto* select = policy->selectClause();
    layout.line(select->getStart(), select->getStop(), 1, 1);
    for (auto* block : policy->directionBlock()) {
      auto* blockOpen = block->LBRACE()->getSymbol();
      auto* blockClose = block->RBRACE()->getSymbol();
      if (block->ruleDecl().empty() && !hasHiddenBetween(*tree, blockOpen, blockClose)) {
        layout.line(block->getStart(), blockClose, 1, 1); // ingress {}
        continue;
      }
      layout.line(block->getStart(), blockOpen, 1, 1);
      for (auto* rule : block->ruleDecl()) layout.line(rule->getStart(), rule->getStop(), 2, 2);
      layout.line(blockClose, blockClose, 1, 2, /*blankAllowed=*/false);
    }
    layout.line(close, close, 0, 1, /*blankAllowed=*/false);
  }
  return layout.finish();
}

namespace {

std::vector<std::string> splitLines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

struct Edit {
  char kind; // ' ', '-', '+'
  std::string line;
};

// A shortest edit script by longest common subsequence; policy files are
// small, and a very large middle section is shown as one replacement.
std::vector<Edit> diffLines(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  size_t prefix = 0;
  while (prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) ++prefix;
  size_t suffix = 0;
  while (suffix < a.size() - prefix && suffix < b.size() - prefix &&
         a[a.size() - 1 - suffix] == b[b.size() - 1 - suffix])
    ++suffix;
  std::vector<Edit> edits;
  for (size_t i = 0; i < prefix; ++i) edits.push_back({' ', a[i]});
  size_t n = a.size() - prefix - suffix, m = b.size() - prefix - suffix;
  if (n * m <= 4'000'000) {
    std::vector<std::vector<int>> common(n + 1, std::vector<int>(m + 1, 0));
    for (size_t i = n; i-- > 0;)
      for (size_t j = m; j-- > 0;)
        common[i][j] = a[prefix + i] == b[prefix + j]
                           ? common[i + 1][j + 1] + 1
                           : std::max(common[i + 1][j], common[i][j + 1]);
    size_t i = 0, j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a[prefix + i] == b[prefix + j]) {
        edits.push_back({' ', a[prefix + i]});
        ++i, ++j;
      } else if (i < n && (j == m || common[i + 1][j] >= common[i][j + 1])) {
        edits.push_back({'-', a[prefix + i++]});
      } else {
        edits.push_back({'+', b[prefix + j++]});
      }
    }
  } else {
    for (size_t i = 0; i < n; ++i) edits.push_back({'-', a[prefix + i]});
    for (size_t j = 0; j < m; ++j) edits.push_back({'+', b[prefix + j]});
  }
  for (size_t i = a.size() - suffix; i < a.size(); ++i) edits.push_back({' ', a[i]});
  return edits;
}

} // namespace

std::string unifiedDiff(const std::string& path, const std::string& before,
                        const std::string& after) {
  if (before == after) return {};
  constexpr size_t kContext = 2;
  auto edits = diffLines(splitLines(before), splitLines(after));
  std::string out = "--- " + path + "\n+++ " + path + " (formatted)\n";
  size_t i = 0;
  while (i < edits.size()) {
    if (edits[i].kind == ' ') {
      ++i;
      continue;
    }
    // A hunk: from kContext lines before this change to kContext after the
    // last change that is at most 2*kContext unchanged lines further on.
    size_t start = i >= kContext ? i - kContext : 0;
    size_t end = i;
    for (size_t j = i; j < edits.size(); ++j) {
      if (edits[j].kind != ' ')
        end = j;
      else if (j - end > 2 * kContext)
        break;
    }
    end = std::min(edits.size(), end + 1 + kContext);
    size_t oldLine = 1, newLine = 1;
    for (size_t j = 0; j < start; ++j) {
      if (edits[j].kind != '+') ++oldLine;
      if (edits[j].kind != '-') ++newLine;
    }
    size_t oldCount = 0, newCount = 0;
    std::string body;
    for (size_t j = start; j < end; ++j) {
      if (edits[j].kind != '+') ++oldCount;
      if (edits[j].kind != '-') ++newCount;
      body += edits[j].kind + edits[j].line + "\n";
    }
    out += "@@ -" + std::to_string(oldLine) + "," + std::to_string(oldCount) + " +" +
           std::to_string(newLine) + "," + std::to_string(newCount) + " @@\n" + body;
    i = end;
  }
  return out;
}

} // namespace polc::frontend
