// What every reader of a Kubernetes object shares: a YAML node with its
// field path ("spec.ingress[1].from[0]") and input file, and a reporter
// whose messages name the file and line, the object and the path.
#pragma once

#include "polc/diagnostics/diagnostics.h"
#include "polc/importer/k8s.h"
#include "polc/topology/yaml_document.h"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace polc::importer {

namespace yaml = topology::yaml;

using Labels = std::map<std::string, std::string>;

// A node of an input with the path that leads to it from its object.
class Field {
public:
  Field(yaml::Node node, std::string path, const std::string* file)
      : node_(node), path_(std::move(path)), file_(file) {}

  const yaml::Node& node() const { return node_; }
  const std::string& path() const { return path_; }
  SourceLocation location() const;

  // A map's entry (path "a.b"); nullopt when absent or not a map.
  std::optional<Field> child(const std::string& key) const;
  // A sequence's items (paths "a[0]", "a[1]", ...).
  std::vector<Field> items() const;
  // A map's keys and values, in file order.
  std::vector<std::pair<std::string, Field>> entries() const;
  // A map's keys, each as a field with the path of its value (to report
  // a key where it is written).
  std::vector<Field> keys() const;

  bool isNull() const { return node_.isNull(); }
  bool isMap() const { return node_.isMap(); }
  bool isSequence() const { return node_.isSequence(); }
  bool isScalar() const { return node_.isScalar(); }
  const std::string& text() const { return node_.text(); }
  size_t size() const { return node_.size(); }
  // The same node as an object's root (a List's item): paths start anew.
  Field asObject() const { return Field(node_, "", file_); }

private:
  yaml::Node node_;
  std::string path_;
  const std::string* file_;
};

// "NetworkPolicy x/allow-db", as messages and comments name an object.
struct ObjectId {
  std::string apiVersion;
  std::string kind;
  std::string nameSpace; // empty for cluster-scoped objects
  std::string name;
  SourceLocation location;

  std::string text() const { return kind + " " + qualifiedName(); }
  std::string qualifiedName() const { return nameSpace.empty() ? name : nameSpace + "/" + name; }
};

// Reports about one object: "OBJECT: PATH: why" at the field's line.
class Reporter {
public:
  Reporter(Diagnostics& diagnostics, std::vector<K8sNote>& notes, bool lenient)
      : diagnostics_(diagnostics), notes_(notes), lenient_(lenient) {}

  Diagnostic& error(DiagnosticId id, const ObjectId& object, const Field& field,
                    const std::string& why);
  Diagnostic& warning(DiagnosticId id, const ObjectId& object, const Field& field,
                      const std::string& why);
  // What polc's language cannot say: an error, or with --lenient a warning
  // (k8s-approximated). Returns whether the import goes on approximating.
  bool untranslatable(const ObjectId& object, const Field& field, const std::string& why,
                      const std::string& hint);
  void note(SourceLocation location, std::string message);
  bool lenient() const { return lenient_; }
  Diagnostics& diagnostics() { return diagnostics_; }

private:
  static std::string message(const ObjectId& object, const Field& field, const std::string& why);
  Diagnostics& diagnostics_;
  std::vector<K8sNote>& notes_;
  bool lenient_;
};

// Typed reads of one object's fields: a value of the wrong type is a
// k8s-invalid error (nullopt), an absent or null one is nullopt silently.
class ObjectReader {
public:
  ObjectReader(Reporter& reporter, const ObjectId& object) : reporter_(reporter), object_(object) {}

  std::optional<std::string> string(const std::optional<Field>& field);
  // An integer in [min, max].
  std::optional<long> integer(const std::optional<Field>& field, long min, long max);
  std::optional<bool> boolean(const std::optional<Field>& field);
  // A port's protocol as polc writes it: "tcp" (also when absent, as
  // Kubernetes defaults it), "udp", "sctp"; nullopt after an error.
  std::optional<std::string> protocol(const std::optional<Field>& field);
  // A map of strings, each key and value checked as a Kubernetes label's
  // (which polc's selectors and topology accept as they are).
  Labels labels(const std::optional<Field>& field);
  // The items of a sequence (none when absent or null; an error otherwise).
  std::vector<Field> items(const std::optional<Field>& field);
  // Whether the field is a map (or absent: true), reporting otherwise.
  bool isMapOrAbsent(const std::optional<Field>& field);
  // k8s-unknown-field for every key of `map` not in `known`.
  bool onlyKnownFields(const Field& map, std::initializer_list<std::string_view> known);

  Reporter& reporter() { return reporter_; }
  const ObjectId& object() const { return object_; }

private:
  Reporter& reporter_;
  const ObjectId& object_;
};

// Kubernetes' rules for a label key (optional DNS-subdomain prefix and '/',
// then a name of at most 63 characters) and value (at most 63 characters of
// letters, digits, '-', '_', '.', starting and ending alphanumeric; may be
// empty). An explanation when not valid.
std::optional<std::string> labelKeyProblem(const std::string& key);
std::optional<std::string> labelValueProblem(const std::string& value);

// A DNS label (a namespace's name: lowercase letters, digits and '-', at
// most 63) and a DNS subdomain (pods, nodes: labels joined by '.', at most 253).
bool isDnsLabel(const std::string& name);
bool isDnsSubdomain(const std::string& name);

// Double-quoted with \" and \\ escaped: a string literal of polc's language
// and a YAML scalar alike (the values quoted are labels and names, which
// hold no other character either would escape).
std::string doubleQuoted(const std::string& text);

} // namespace polc::importer
