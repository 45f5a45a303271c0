#include "polc/topology/yaml_document.h"

#include <yaml.h>

#include <algorithm>
#include <map>

namespace polc::topology::yaml {

namespace {

// libyaml's parser and event, released whatever happens.
struct Parser {
  yaml_parser_t parser;
  explicit Parser(std::string_view text) {
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, reinterpret_cast<const unsigned char*>(text.data()),
                                 text.size());
  }
  ~Parser() { yaml_parser_delete(&parser); }
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;
};

struct Event {
  yaml_event_t event{};
  bool parsed = false;
  ~Event() {
    if (parsed) yaml_event_delete(&event);
  }
};

bool readsAsNull(const yaml_event_t& event) {
  if (event.data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
  std::string_view value(reinterpret_cast<const char*>(event.data.scalar.value),
                         event.data.scalar.length);
  return value.empty() || value == "~" || value == "null" || value == "Null" || value == "NULL";
}

std::string anchorOf(const unsigned char* anchor) {
  return anchor ? reinterpret_cast<const char*>(anchor) : "";
}

} // namespace

Kind Node::kind() const {
  return document_->nodes_[index_].kind;
}

const std::string& Node::text() const {
  return document_->nodes_[index_].text;
}

Mark Node::mark() const {
  return document_->markOf(document_->nodes_[index_]);
}

size_t Node::size() const {
  const auto& data = document_->nodes_[index_];
  return data.kind == Kind::Map ? data.children.size() / 2 : data.children.size();
}

std::vector<Node> Node::items() const {
  std::vector<Node> items;
  if (kind() != Kind::Sequence) return items;
  for (uint32_t child : document_->nodes_[index_].children) items.push_back({document_, child});
  return items;
}

std::vector<std::pair<Node, Node>> Node::entries() const {
  std::vector<std::pair<Node, Node>> entries;
  if (kind() != Kind::Map) return entries;
  const auto& children = document_->nodes_[index_].children;
  for (size_t i = 0; i + 1 < children.size(); i += 2)
    entries.emplace_back(Node{document_, children[i]}, Node{document_, children[i + 1]});
  return entries;
}

std::optional<Node> Document::root() const {
  if (!root_) return std::nullopt;
  return Node{this, *root_};
}

// libyaml counts columns in code points; polc's YAML diagnostics count bytes.
Mark Document::markOf(const Data& data) const {
  if (lineStarts_.empty()) return {};
  size_t line = std::min<size_t>(size_t(std::max(data.line, 0)), lineStarts_.size() - 1);
  size_t offset = lineStarts_[line];
  for (int column = 0; column < data.column && offset < text_.size() && text_[offset] != '\n';
       ++column) {
    ++offset; // past the lead byte, then its continuation bytes
    while (offset < text_.size() && (static_cast<unsigned char>(text_[offset]) & 0xc0) == 0x80)
      ++offset;
  }
  return {firstLine_ + int(line), int(offset - lineStarts_[line]), offset};
}

Document Document::parse(std::string_view text, const Mark& from) {
  Document document;
  document.text_ = text;
  // Parsing starts at the start of `from`'s line: libyaml counts lines from there.
  size_t start =
      std::min(from.offset - std::min<size_t>(from.offset, size_t(from.column)), text.size());
  document.firstLine_ = from.line;
  int lastLine = 0; // the last line (relative) a mark of this document is on

  // Marks are taken as libyaml gives them and converted once the lines the
  // document spans are indexed.
  struct RawMark {
    int line = 0, column = 0;
  };
  auto raw = [&](const yaml_mark_t& mark) {
    lastLine = std::max(lastLine, int(mark.line));
    return RawMark{int(mark.line), int(mark.column)};
  };
  std::optional<RawMark> laterDocument, errorMark, contextMark;
  auto finish = [&] {
    for (size_t offset = start, line = 0; line <= size_t(lastLine) + 1; ++line) {
      document.lineStarts_.push_back(offset);
      auto newline = text.find('\n', offset);
      if (newline == std::string_view::npos) break;
      offset = newline + 1;
    }
    auto convert = [&](const RawMark& mark) {
      return document.markOf({Kind::Null, mark.line, mark.column, {}, {}});
    };
    if (laterDocument) document.laterDocument_ = convert(*laterDocument);
    if (document.error_) {
      if (errorMark) document.error_->mark = convert(*errorMark);
      if (contextMark && document.error_->context)
        document.error_->context->second = convert(*contextMark);
    }
    return std::move(document);
  };
  Parser parser(text.substr(start));
  std::vector<uint32_t> open; // the collections being read, outermost first
  std::map<std::string, uint32_t> anchors;
  // Adds a node where the event stands: the root, an item or a key/value.
  auto place = [&](uint32_t index) {
    if (open.empty())
      document.root_ = index;
    else
      document.nodes_[open.back()].children.push_back(index);
  };
  auto add = [&](const yaml_event_t& event, Kind kind, std::string value,
                 const unsigned char* anchor) {
    auto index = uint32_t(document.nodes_.size());
    document.nodes_.push_back(
        {kind, int(event.start_mark.line), int(event.start_mark.column), std::move(value), {}});
    if (auto name = anchorOf(anchor); !name.empty()) anchors[name] = index;
    place(index);
    return index;
  };

  for (;;) {
    Event next;
    if (!yaml_parser_parse(&parser.parser, &next.event)) {
      ParseError error;
      error.message = parser.parser.problem ? parser.parser.problem : "cannot be parsed";
      errorMark = raw(parser.parser.problem_mark);
      if (parser.parser.context) {
        error.context.emplace(parser.parser.context, Mark{});
        contextMark = raw(parser.parser.context_mark);
      }
      document.error_ = std::move(error);
      return finish();
    }
    next.parsed = true;
    const auto& event = next.event;
    raw(event.end_mark);
    switch (event.type) {
    case YAML_DOCUMENT_START_EVENT:
      if (document.root_) { // every document has a root node: this is a second one
        laterDocument = raw(event.start_mark);
        return finish(); // only the first document is read
      }
      break;
    case YAML_SCALAR_EVENT:
      add(event, readsAsNull(event) ? Kind::Null : Kind::Scalar,
          std::string(reinterpret_cast<const char*>(event.data.scalar.value),
                      event.data.scalar.length),
          event.data.scalar.anchor);
      break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
      if (open.size() >= kMaxDepth) {
        ParseError error;
        error.message = "nested too deeply";
        errorMark = raw(event.start_mark);
        error.tooDeep = true;
        document.error_ = std::move(error);
        return finish();
      }
      bool sequence = event.type == YAML_SEQUENCE_START_EVENT;
      open.push_back(
          add(event, sequence ? Kind::Sequence : Kind::Map, "",
              sequence ? event.data.sequence_start.anchor : event.data.mapping_start.anchor));
      break;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
      open.pop_back();
      break;
    case YAML_ALIAS_EVENT: {
      auto name = anchorOf(event.data.alias.anchor);
      auto found = anchors.find(name);
      if (found == anchors.end()) {
        errorMark = raw(event.start_mark);
        document.error_ =
            ParseError{"found undefined alias '" + name + "'", {}, std::nullopt, false};
        return finish();
      }
      if (std::find(open.begin(), open.end(), found->second) != open.end()) {
        errorMark = raw(event.start_mark);
        document.error_ = ParseError{
            "alias '" + name + "' refers to a collection that holds it", {}, std::nullopt, false};
        return finish();
      }
      place(found->second);
      break;
    }
    case YAML_STREAM_END_EVENT:
      return finish();
    default:
      break;
    }
  }
}

} // namespace polc::topology::yaml
