// A YAML document as a tree of nodes that know where they are written, read
// with libyaml's event parser. Public for the readers of YAML beside the
// topology loader (the Kubernetes importer); it knows nothing of either. yaml-cpp's tree took 1.1 s
// for the 2 MB topology of 10,000 endpoints, where libyaml's events take 45 ms; it also threw from
// its conveniences, which this tree never does.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace polc::topology::yaml {

// Where a node starts: 0-based line, and column and offset in bytes.
struct Mark {
  int line = 0;
  int column = 0;
  size_t offset = 0;
};

// A plain scalar that YAML reads as null (`~`, `null`, nothing at all) is Null.
enum class Kind : uint8_t { Null, Scalar, Sequence, Map };

class Document;

// A node of a Document: a handle, cheap to copy, valid while the document is.
// An alias is the node its anchor names (shared, not copied).
class Node {
public:
  Kind kind() const;
  bool isNull() const { return kind() == Kind::Null; }
  bool isScalar() const { return kind() == Kind::Scalar; }
  bool isSequence() const { return kind() == Kind::Sequence; }
  bool isMap() const { return kind() == Kind::Map; }
  const std::string& text() const; // a scalar's value; empty for the other kinds
  Mark mark() const;
  size_t size() const;                                // items of a sequence or entries of a map
  std::vector<Node> items() const;                    // a sequence's items
  std::vector<std::pair<Node, Node>> entries() const; // a map's keys and values, in file order

private:
  friend class Document;
  Node(const Document* document, uint32_t index) : document_(document), index_(index) {}
  const Document* document_;
  uint32_t index_;
};

// Why a text is not a YAML document polc can read, and where.
struct ParseError {
  std::string message; // libyaml's problem, e.g. "did not find expected ',' or '}'"
  Mark mark;
  std::optional<std::pair<std::string, Mark>> context; // e.g. "while parsing a flow mapping"
  bool tooDeep = false;                                // nested more than kMaxDepth levels
};

class Document {
public:
  static constexpr size_t kMaxDepth = 64;

  // The first document of `text` (which must outlive the Document) from
  // `from` on, where a further one starts, if there is one, in
  // `laterDocument`: a multi-document stream is read by parsing again from
  // each laterDocument. Marks count lines and offsets of the whole text; a
  // document only indexes its own lines, so reading a stream of many
  // documents takes time and memory linear in its size.
  static Document parse(std::string_view text, const Mark& from = {});

  const std::optional<ParseError>& error() const { return error_; }
  std::optional<Node> root() const; // none for a stream without documents
  const std::optional<Mark>& laterDocument() const { return laterDocument_; }

private:
  friend class Node;
  struct Data {
    Kind kind = Kind::Null;
    int line = 0;   // as libyaml counts: 0-based, from the line parsing started on
    int column = 0; // in code points
    std::string text;
    std::vector<uint32_t> children; // a map's keys and values alternate
  };
  Mark markOf(const Data& data) const;

  std::string_view text_;
  int firstLine_ = 0;              // the line of the text parsing started on
  std::vector<size_t> lineStarts_; // offsets of that line and the next ones the document spans
  std::vector<Data> nodes_;
  std::optional<uint32_t> root_;
  std::optional<Mark> laterDocument_;
  std::optional<ParseError> error_;
};

} // namespace polc::topology::yaml
