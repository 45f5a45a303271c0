// examples/deploy/polc-agent.yaml stays a manifest Kubernetes takes: every
// document parses (libyaml, as the topology loader reads YAML), and the
// DaemonSet has what the agent needs: the host's network, the privileges
// BPF and tc need, the host's bpffs and state dir, the bundles and the
// trusted keys mounted where its arguments say.
#include "polc/support/files.h"
#include "polc/topology/yaml_document.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace polc::topology::yaml {
namespace {

const std::string kExample = std::string(POLC_SOURCE_DIR) + "/examples/deploy/polc-agent.yaml";

std::optional<Node> field(const Node& map, std::string_view key) {
  if (!map.isMap()) return std::nullopt;
  for (const auto& [name, value] : map.entries())
    if (name.text() == key) return value;
  return std::nullopt;
}

// The node at a path of map keys, or nullopt.
std::optional<Node> at(Node node, std::initializer_list<std::string_view> path) {
  for (auto key : path) {
    auto next = field(node, key);
    if (!next) return std::nullopt;
    node = *next;
  }
  return node;
}

std::string textAt(const Node& node, std::initializer_list<std::string_view> path) {
  auto found = at(node, path);
  return found ? found->text() : "";
}

TEST(DeployExample, TheAgentDaemonSetIsValidAndHasWhatTheAgentNeeds) {
  auto text = polc::readFile(kExample);
  ASSERT_TRUE(text) << text.error();
  // Every document of the stream, each parsed on its own.
  std::vector<Document> documents;
  Mark from;
  while (true) {
    documents.push_back(Document::parse(*text, from));
    const auto& document = documents.back();
    ASSERT_FALSE(document.error()) << kExample << ": " << document.error()->message << " (line "
                                   << document.error()->mark.line + 1 << ")";
    ASSERT_TRUE(document.root());
    const auto& later = document.laterDocument();
    if (!later || later->offset <= from.offset) break;
    from = *later;
  }
  std::map<std::string, Node> byKind;
  for (const auto& document : documents) {
    auto root = *document.root();
    EXPECT_FALSE(textAt(root, {"apiVersion"}).empty());
    EXPECT_FALSE(textAt(root, {"metadata", "name"}).empty());
    byKind.emplace(textAt(root, {"kind"}), root);
  }
  ASSERT_TRUE(byKind.count("DaemonSet"));
  ASSERT_TRUE(byKind.count("ConfigMap"));
  const auto daemonSet = byKind.at("DaemonSet");
  EXPECT_EQ(textAt(daemonSet, {"apiVersion"}), "apps/v1");
  EXPECT_EQ(textAt(daemonSet, {"metadata", "namespace"}),
            textAt(byKind.at("ConfigMap"), {"metadata", "namespace"}));

  // The selector selects the pods of the template.
  auto matchLabels = at(daemonSet, {"spec", "selector", "matchLabels"});
  ASSERT_TRUE(matchLabels && matchLabels->isMap());
  auto podLabels = at(daemonSet, {"spec", "template", "metadata", "labels"});
  ASSERT_TRUE(podLabels);
  for (const auto& [key, value] : matchLabels->entries()) {
    auto label = field(*podLabels, key.text());
    ASSERT_TRUE(label) << key.text();
    EXPECT_EQ(label->text(), value.text());
  }

  auto pod = *at(daemonSet, {"spec", "template", "spec"});
  EXPECT_EQ(textAt(pod, {"hostNetwork"}), "true");
  auto containers = at(pod, {"containers"});
  ASSERT_TRUE(containers && containers->isSequence() && containers->size() == 1);
  auto agent = containers->items()[0];

  std::vector<std::string> command;
  for (const auto& part : at(agent, {"command"})->items()) command.push_back(part.text());
  EXPECT_EQ(command, (std::vector<std::string>{"polc", "agent"}));
  std::map<std::string, std::string> args; // --name=value
  for (const auto& arg : at(agent, {"args"})->items()) {
    const auto& text = arg.text();
    const auto equals = text.find('=');
    ASSERT_NE(equals, std::string::npos) << text;
    args[text.substr(0, equals)] = text.substr(equals + 1);
  }
  for (const char* required : {"--source", "--node", "--trust", "--pin-root", "--state-dir"})
    EXPECT_TRUE(args.count(required)) << required;
  EXPECT_EQ(args["--node"], "$(NODE_NAME)");
  EXPECT_EQ(textAt(at(agent, {"env"})->items()[0], {"valueFrom", "fieldRef", "fieldPath"}),
            "spec.nodeName");

  std::set<std::string> capabilities;
  for (const auto& cap : at(agent, {"securityContext", "capabilities", "add"})->items())
    capabilities.insert(cap.text());
  for (const char* needed : {"BPF", "NET_ADMIN", "SYS_ADMIN"})
    EXPECT_TRUE(capabilities.count(needed)) << needed;

  // Each mount names a volume, and the agent's directories are mounted.
  std::map<std::string, Node> volumes;
  for (const auto& volume : at(pod, {"volumes"})->items())
    volumes.emplace(textAt(volume, {"name"}), volume);
  std::map<std::string, std::string> mounts; // mountPath -> volume
  for (const auto& mount : at(agent, {"volumeMounts"})->items()) {
    EXPECT_TRUE(volumes.count(textAt(mount, {"name"}))) << textAt(mount, {"name"});
    mounts[textAt(mount, {"mountPath"})] = textAt(mount, {"name"});
  }
  for (const auto& path : {args["--source"], args["--trust"], args["--state-dir"]})
    EXPECT_TRUE(mounts.count(path)) << path << " is not mounted";
  EXPECT_TRUE(mounts.count("/sys/fs/bpf"));
  EXPECT_EQ(textAt(volumes.at(mounts["/sys/fs/bpf"]), {"hostPath", "path"}), "/sys/fs/bpf");
  EXPECT_EQ(textAt(volumes.at(mounts[args["--state-dir"]]), {"hostPath", "path"}),
            args["--state-dir"])
      << "the state dir on the host: a new pod continues, polc status on the host reads it";
  EXPECT_EQ(textAt(volumes.at(mounts[args["--trust"]]), {"configMap", "name"}),
            textAt(byKind.at("ConfigMap"), {"metadata", "name"}));
}

} // namespace
} // namespace polc::topology::yaml
