// polc diff's algorithm: two versions of a policy over a topology, compiled
// from text, and the flows whose verdict changes between them.
#include "polc/evaluator/policy_diff.h"
#include "polc/frontend/parser.h"
#include "polc/pipeline/pipeline.h"
#include "polc/topology/loader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

namespace polc::evaluator {
namespace {

constexpr const char* kTopology = R"(cluster: c
nodes:
  - name: n1
    address: 10.9.0.1
    endpoints:
      - { name: web-1, labels: { app: web }, addresses: [10.0.0.1], interface: v1 }
      - { name: db-1, labels: { app: db }, addresses: [10.0.0.2], interface: v2 }
)";

ir::Program compile(const std::string& path, const std::string& policy,
                    const std::string& topologyText = kTopology) {
  Diagnostics diagnostics;
  auto file = frontend::parseText(path, policy, diagnostics);
  auto topology = topology::loadText("t.yaml", topologyText, diagnostics);
  std::optional<ir::Program> program;
  if (file && topology) program = pipeline::analyze(*file, *topology, diagnostics);
  EXPECT_TRUE(program) << diagnostics.render();
  return program ? std::move(*program) : ir::Program{};
}

struct Versions {
  ir::Program before, after;
  PolicyDiff diff;
};

Versions diff(const std::string& oldPolicy, const std::string& newPolicy) {
  Versions v{compile("old.pol", oldPolicy), compile("new.pol", newPolicy), {}};
  v.diff = diffPolicies(v.before, v.after);
  return v;
}

// "web-1 -> db-1 tcp/5432 allow->deny" per change, for compact expectations.
std::vector<std::string> summary(const PolicyDiff& diff) {
  std::vector<std::string> lines;
  for (const auto& c : diff.changes)
    lines.push_back(c.from + " -> " + c.to + " " + c.l4Text() + " " +
                    (c.before.allowed ? "allow" : "deny") + "->" +
                    (c.after.allowed ? "allow" : "deny"));
  return lines;
}

constexpr const char* kDbPolicy = R"(policy "db" {
  select app == "db"
  ingress {
    allow from app == "web" on tcp/5432
  }
}
)";

TEST(PolicyDiff, UnchangedPolicyHasNoChangesAndNoOutput) {
  auto v = diff(kDbPolicy, kDbPolicy);
  EXPECT_TRUE(v.diff.empty());
  EXPECT_GT(v.diff.pairsCompared, 0u);
  EXPECT_EQ(diffText(v.before, v.after, v.diff), "");
  EXPECT_TRUE(diffJson(v.before, v.after, v.diff)["changes"].empty());
}

TEST(PolicyDiff, AddedRuleAllowsExactlyItsPorts) {
  auto v = diff(kDbPolicy, R"(policy "db" {
  select app == "db"
  ingress {
    allow from app == "web" on tcp/5432
    allow from app == "web" on udp/53, tcp/6000-6009
  }
}
)");
  EXPECT_EQ(summary(v.diff), (std::vector<std::string>{"web-1 -> db-1 tcp/6000-6009 deny->allow",
                                                       "web-1 -> db-1 udp/53 deny->allow"}));
  const auto& change = v.diff.changes[0];
  ASSERT_EQ(change.after.sides.size(), 2u); // web-1's open egress and db-1's ingress
  EXPECT_EQ(change.after.sides[1].decision, Decision::AllowedByRule);
  EXPECT_EQ(v.after.rules.at(change.after.sides[1].rule).location.str(), "new.pol:5:5");
  ASSERT_EQ(change.before.sides.size(), 1u);
  EXPECT_EQ(change.before.sides[0].decision, Decision::DeniedIsolated);
  EXPECT_EQ(v.diff.denyToAllow(), 2u);
}

TEST(PolicyDiff, MarkingAPolicyAuditTurnsItsDenialsIntoAudits) {
  auto v = diff(kDbPolicy, std::string("audit ") + kDbPolicy);
  // Isolated by the audit policy only: web-1's tcp/5432 still allowed, the
  // rest of what reaches db-1 passes as audit instead of being denied.
  ASSERT_FALSE(v.diff.changes.empty());
  EXPECT_EQ(v.diff.allowToDeny(), 0u);
  EXPECT_EQ(v.diff.denyToAllow(), v.diff.changes.size());
  for (const auto& change : v.diff.changes) {
    EXPECT_FALSE(change.before.allowed);
    EXPECT_TRUE(change.after.allowed && change.after.audited);
    ASSERT_FALSE(change.after.sides.empty());
    EXPECT_EQ(change.after.sides.back().decision, Decision::AuditedIsolated);
  }
  auto text = diffText(v.before, v.after, v.diff);
  EXPECT_NE(text.find("deny -> audit"), std::string::npos) << text;
  EXPECT_NE(text.find("audited: isolated by audit policies"), std::string::npos) << text;

  // Enforcing it again: every change back, now counted to or from audit
  // where it was allowed both times.
  auto back = diff(std::string("audit ") + kDbPolicy, kDbPolicy);
  EXPECT_EQ(back.diff.changes.size(), v.diff.changes.size());
  EXPECT_EQ(back.diff.allowToDeny(), back.diff.changes.size());
  auto tightened = diff(kDbPolicy, std::string(kDbPolicy) + R"(audit policy "no-web" {
  select app == "db"
  ingress { deny from app == "web" }
})");
  EXPECT_EQ(summary(tightened.diff),
            (std::vector<std::string>{"web-1 -> db-1 tcp/5432 allow->allow"}));
  EXPECT_EQ(tightened.diff.auditChanges(), 1u);
  EXPECT_EQ(
      diffJson(tightened.before, tightened.after, tightened.diff)["changes"][0]["new"]["verdict"],
      "audit");
}

TEST(PolicyDiff, RemovedRuleDeniesWhatItAllowed) {
  auto v = diff(R"(policy "db" {
  select app == "db"
  ingress {
    allow from app == "web" on tcp/5432
    allow from entity world on tcp/443
  }
}
)",
                kDbPolicy);
  EXPECT_EQ(summary(v.diff),
            (std::vector<std::string>{"entity world -> db-1 tcp/443 allow->deny"}));
  EXPECT_EQ(v.before.rules.at(v.diff.changes[0].before.sides[0].rule).location.str(),
            "old.pol:5:5");
}

TEST(PolicyDiff, NarrowedRangeShowsExactlyTheRemovedSubRange) {
  auto v = diff(R"(policy "db" { select app == "db"
  ingress { allow from app == "web" on tcp/8000-8999 } })",
                R"(policy "db" { select app == "db"
  ingress { allow from app == "web" on tcp/8000-8099, tcp/8200-8999 } })");
  EXPECT_EQ(summary(v.diff), (std::vector<std::string>{"web-1 -> db-1 tcp/8100-8199 allow->deny"}));
}

TEST(PolicyDiff, AdjacentIntervalsWithTheSameChangeMerge) {
  // The new version's rule for another peer cuts 80-89 at 84 and 87; the
  // change for web-1 is still one range.
  auto v = diff(R"(policy "db" { select app == "db"
  ingress { allow from app == "web" on tcp/80-89 } })",
                R"(policy "db" { select app == "db"
  ingress { allow from entity host on tcp/84-86 } })");
  EXPECT_EQ(summary(v.diff),
            (std::vector<std::string>{"web-1 -> db-1 tcp/80-89 allow->deny",
                                      "entity host -> db-1 tcp/84-86 deny->allow"}));
}

TEST(PolicyDiff, AddedDenyNamesTheDenyingRule) {
  auto v = diff(R"(policy "web" { select app == "web" })", R"(policy "web" { select app == "web"
  egress {
    allow to entity all
    deny to app == "db" on tcp/22
  }
})");
  // web-1's egress becomes isolated but allows everything but db-1 tcp/22.
  EXPECT_EQ(summary(v.diff), (std::vector<std::string>{"web-1 -> db-1 tcp/22 allow->deny"}));
  const auto& after = v.diff.changes[0].after;
  ASSERT_EQ(after.sides.size(), 1u);
  EXPECT_EQ(after.sides[0].endpoint, "web-1");
  EXPECT_EQ(after.sides[0].direction, ast::Direction::Egress);
  EXPECT_EQ(after.sides[0].decision, Decision::DeniedByRule);
  EXPECT_EQ(v.after.rules.at(after.sides[0].rule).location.str(), "new.pol:4:5");
  auto text = diffText(v.before, v.after, v.diff);
  EXPECT_NE(text.find("web-1 -> db-1  tcp/22  allow -> deny\n"), std::string::npos) << text;
  EXPECT_NE(text.find("    new: web-1 egress denied by new.pol:4:5  deny to app == \"db\" on "
                      "tcp/22  [policy \"web\"]\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("1 verdict change(s) (1 allow -> deny, 0 deny -> allow)"), std::string::npos)
      << text;
}

TEST(PolicyDiff, EmptyBlockIsolatesEveryFlowAsOneAnyChange) {
  auto v = diff(R"(policy "web" { select app == "web" })",
                R"(policy "web" { select app == "web"
  egress { }
})");
  EXPECT_EQ(summary(v.diff), (std::vector<std::string>{"web-1 -> db-1 any allow->deny",
                                                       "web-1 -> entity world any allow->deny",
                                                       "web-1 -> entity host any allow->deny"}));
  const auto& side = v.diff.changes[0].after.sides.at(0);
  EXPECT_EQ(side.decision, Decision::DeniedIsolated);
  auto text = diffText(v.before, v.after, v.diff);
  EXPECT_NE(text.find("denied: isolated (by new.pol:2:3), no allow rule matches"),
            std::string::npos)
      << text;
}

TEST(PolicyDiff, IsolationWithOneOpeningReadsAsAnyExcept) {
  auto v = diff(R"(policy "web" { select app == "web" })",
                R"(policy "web" { select app == "web"
  egress { allow to entity world on tcp/443 }
})");
  auto lines = summary(v.diff);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1], "web-1 -> entity world any except tcp/443 allow->deny");
  auto json = diffJson(v.before, v.after, v.diff);
  EXPECT_EQ(json["changes"][1]["except"][0]["l4"], "tcp/443");
}

TEST(PolicyDiff, CidrPeersAreComparedByAnAddressOfTheirOwn) {
  auto v = diff(kDbPolicy, R"(policy "db" {
  select app == "db"
  ingress {
    allow from app == "web" on tcp/5432
    allow from cidr 192.168.0.0/16 except 192.168.0.0/24 on tcp/443
  }
}
)");
  // The except prefix is an end of its own, still denied; the rest of the
  // /16 is judged by an address outside the except.
  EXPECT_EQ(summary(v.diff),
            (std::vector<std::string>{"cidr 192.168.0.0/16 -> db-1 tcp/443 deny->allow"}));
}

TEST(PolicyDiff, IcmpChangesReadAsTypes) {
  auto v = diff(kDbPolicy, R"(policy "db" {
  select app == "db"
  ingress {
    allow from app == "web" on tcp/5432, icmp type 8
  }
}
)");
  EXPECT_EQ(summary(v.diff), (std::vector<std::string>{"web-1 -> db-1 icmp type 8 deny->allow"}));
  auto json = diffJson(v.before, v.after, v.diff);
  EXPECT_EQ(json["changes"][0]["protocol"], "icmp");
  EXPECT_EQ(json["changes"][0]["first"], 8 << 8);
  EXPECT_EQ(json["changes"][0]["last"], 8 << 8 | 0xff);
  EXPECT_EQ(json["changes"][0]["old"]["verdict"], "deny");
  EXPECT_EQ(json["changes"][0]["new"]["sides"][1]["rule"]["location"], "new.pol:4:5");
}

TEST(PolicyDiff, EndpointsOfOneTopologyOnlyAreListedNotCompared) {
  std::string bigger = std::string(kTopology) +
                       "      - { name: cache-1, labels: { app: cache }, addresses: [10.0.0.3], "
                       "interface: v3 }\n";
  auto before = compile("old.pol", kDbPolicy);
  auto after = compile("new.pol", kDbPolicy, bigger);
  auto d = diffPolicies(before, after);
  EXPECT_TRUE(d.changes.empty());
  EXPECT_EQ(d.endpointsAdded, (std::vector<std::string>{"cache-1"}));
  EXPECT_FALSE(d.empty());
  EXPECT_NE(diffText(before, after, d).find("endpoint cache-1 is only in the new topology"),
            std::string::npos);
}

// Evaluating only the affected pairs finds exactly what evaluating every
// pair finds: over the examples, each rule line in turn deleted, flipped
// between allow and deny, or moved to another port, and an endpoint given
// a new label (which renumbers identities).
TEST(PolicyDiff, AffectedPairsFindWhatEveryPairFinds) {
  auto read = [](const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  auto both = [](const ir::Program& before, const ir::Program& after) {
    auto affected = diffPolicies(before, after, PairsToEvaluate::Affected);
    auto every = diffPolicies(before, after, PairsToEvaluate::Every);
    EXPECT_EQ(summary(affected), summary(every));
    EXPECT_EQ(diffJson(before, after, affected).dump(), diffJson(before, after, every).dump());
    return !every.empty();
  };
  size_t changedVersions = 0;
  for (const char* example : {"shop", "boutique", "tenants", "lockdown", "ipv6"}) {
    SCOPED_TRACE(example);
    const std::string dir = POLC_SOURCE_DIR "/examples/policies/";
    const auto policy = read(dir + example + ".pol"), topology = read(dir + example + ".yaml");
    const std::string path = dir + example + ".pol"; // includes are relative to it
    const auto before = compile(path, policy, topology);
    std::vector<std::string> lines;
    std::istringstream stream(policy);
    for (std::string line; std::getline(stream, line);) lines.push_back(line);
    for (size_t i = 0; i < lines.size(); ++i) {
      const auto& line = lines[i];
      bool allow = line.find("allow ") != std::string::npos;
      if (!allow && line.find("deny ") == std::string::npos) continue;
      auto port = std::find_if(line.begin(), line.end(), ::isdigit) - line.begin();
      std::vector<std::string> variants = {
          "", allow ? std::regex_replace(line, std::regex("allow "), "deny ")
                    : std::regex_replace(line, std::regex("deny "), "allow ")};
      if (size_t(port) < line.size())
        variants.push_back(line.substr(0, port) + "1" + line.substr(port));
      for (const auto& variant : variants) {
        auto changed = lines;
        changed[i] = variant;
        std::string text;
        for (const auto& l : changed) text += l + "\n";
        Diagnostics diagnostics;
        auto file = frontend::parseText(path, text, diagnostics);
        auto parsedTopology = topology::loadText("t.yaml", topology, diagnostics);
        if (!file || !parsedTopology) continue; // the mutation broke the syntax
        auto after = pipeline::analyze(*file, *parsedTopology, diagnostics);
        if (!after) continue; // or the meaning (a rule left without its block)
        SCOPED_TRACE("line " + std::to_string(i + 1) + ": " + variant);
        changedVersions += both(before, *after);
      }
    }
    // A new label on the first endpoint: a new identity, the others renumbered.
    auto relabeled =
        std::regex_replace(topology, std::regex("labels: \\{ "), "labels: { polc-test-relabel: x, ",
                           std::regex_constants::format_first_only);
    ASSERT_NE(relabeled, topology);
    changedVersions += both(before, compile(path, policy, relabeled));
  }
  EXPECT_GT(changedVersions, 40u); // the mutations did change verdicts
}

} // namespace
} // namespace polc::evaluator
