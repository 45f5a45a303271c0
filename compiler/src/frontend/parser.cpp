#include "polc/frontend/parser.h"

#include "direct_parser.h"
#include "tree_walker.h"

#include "polc/support/files.h"

#include <algorithm>
#include <filesystem>
#include <set>

namespace polc::frontend {

namespace {

// Parses one file's text into its items; nullopt if it could not be parsed
// at all. A file without syntax errors is parsed by the direct parser; any
// other by ANTLR's, whose tree gives the items that parsed, for their
// diagnostics and includes: the caller sees the errors and drops them.
std::optional<std::vector<Item>> parseItems(const std::string& path, const std::string& text,
                                            Diagnostics& diagnostics) {
  auto tree = lexSyntax(path, text, diagnostics);
  if (tree->syntaxErrors > 0) return std::nullopt;
  if (auto items = parseDirect(*tree, diagnostics)) return items;
  buildParseTree(*tree, diagnostics);
  return walkParseTree(*tree, diagnostics);
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
