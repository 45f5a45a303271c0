// Writes a synthetic cluster for the build benchmark: a topology (nodes,
// namespaces, deployments of replicated endpoints, services, CIDR groups)
// and a policy of about --rules rules, shaped like a microservice platform:
// per-app policies along a call graph, namespace-scoped and team-wide
// policies, CIDR peers with excepts, port ranges, named ports, ICMP,
// IPv6 peers and deny rules. The same arguments give the same bytes.
//
//   gen_cluster --endpoints N --rules R [--nodes K] [--seed S] [--relabel]
//               [--edits E [--edit-seed T]] -o DIR
//
// --relabel changes the labels of one endpoint (the incremental case).
// --edits E writes the cluster as it is after the first E edits of a random
// sequence (seeded by --edit-seed, 1 by default) of the edits a repository
// of policy and topology sees: rules added, removed or given another port,
// endpoints relabeled, added or removed, services added or removed, nodes
// added or removed. --edits E+1 is --edits E and one more edit, so a test
// can walk the sequence (tests/golden/check_incremental_build.sh); each
// edit is printed on stderr. Without --edits the output is the cluster as
// generated, which is what bench/build measures.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

// A tiny deterministic generator (SplitMix64): the standard distributions
// are not the same on every standard library, and the output must be.
class Random {
public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  size_t below(size_t n) { return n == 0 ? 0 : size_t(next() % n); }
  bool chance(unsigned percent) { return below(100) < percent; }
  template <typename T> const T& pick(const std::vector<T>& v) { return v[below(v.size())]; }
  template <typename T> const T& pick(const std::set<T>& set) {
    return *std::next(set.begin(), long(below(set.size())));
  }

private:
  uint64_t state_;
};

struct App {
  std::string name;
  std::string role;                 // frontend, backend, data, platform
  std::string port;                 // its serving port, e.g. tcp/8080
  std::string portName;             // named port for it
  std::vector<std::string> callees; // apps it calls
};

// The application catalogue and its call graph.
const std::vector<App> kApps = {
    {"web", "frontend", "tcp/8080", "http", {"api", "auth", "search"}},
    {"gateway", "frontend", "tcp/8443", "https", {"api", "auth"}},
    {"api", "backend", "tcp/9000", "grpc", {"auth", "cart", "catalog", "search", "cache"}},
    {"auth", "backend", "tcp/9001", "grpc", {"db", "cache"}},
    {"cart", "backend", "tcp/7070", "grpc", {"cache", "db", "queue"}},
    {"catalog", "backend", "tcp/3550", "grpc", {"db", "search"}},
    {"checkout", "backend", "tcp/5050", "grpc", {"cart", "payment", "queue", "mailer"}},
    {"payment", "backend", "tcp/50051", "grpc", {"db"}},
    {"search", "backend", "tcp/9200", "http", {"db"}},
    {"mailer", "backend", "tcp/2525", "smtp", {"queue"}},
    {"worker", "backend", "tcp/9101", "jobs", {"queue", "db", "cache"}},
    {"db", "data", "tcp/5432", "pg", {}},
    {"cache", "data", "tcp/6379", "redis", {}},
    {"queue", "data", "tcp/5672", "amqp", {}},
    // platform apps: only in the platform namespace
    {"dns", "platform", "udp/53", "dns", {}},
    {"prometheus", "platform", "tcp/9090", "web", {}},
    {"monitor", "platform", "tcp/8080", "http", {}},
};

struct Namespace {
  std::string name;
  std::string tier; // tenant or platform
  std::string team;
  std::string env; // prod, staging, dev
  std::vector<size_t> apps;
};

struct Deployment {
  size_t ns;
  size_t app;
  std::string version;
  bool canary = false;
  bool ipv6 = false;
  size_t replicas = 1; // ever created: the next replica's number
};

// `allow|deny from|to PEER [on PORTS]`; its block gives the direction.
struct Rule {
  bool deny = false;
  std::string peer;
  std::string ports; // empty: every protocol and port
};

// Its text in a block of that direction.
std::string ruleText(const Rule& rule, bool egress) {
  return std::string(rule.deny ? "deny" : "allow") + (egress ? " to " : " from ") + rule.peer +
         (rule.ports.empty() ? "" : " on " + rule.ports);
}

// A direction block of a policy. Present but empty, it still isolates the
// direction, so "no block" and "empty block" are different policies.
using Block = std::optional<std::vector<Rule>>;

struct Policy {
  std::string name;
  std::string subject;
  Block ingress, egress;
};

struct Endpoint {
  std::string name;
  size_t deployment;   // its namespace, app, canary and address families
  std::string version; // the deployment's, unless relabeled
  std::string rollout; // a label of its own when not empty
  size_t slot;         // on its node: its addresses and interface
};

struct Node {
  size_t index; // names it and its addresses; never reused
  size_t nextSlot = 0;
  std::vector<Endpoint> endpoints;
};

struct Service {
  std::string name;
  std::string ns;
  std::string vip;
  std::string ports;
  std::string app; // its selector
};

// The cluster: what gen_cluster generates, edits, then writes as text.
struct Cluster {
  std::vector<Namespace> namespaces;
  std::vector<Deployment> deployments;
  std::vector<Policy> policies;
  std::vector<Node> nodes;
  std::vector<Service> services;
  // Labels in use, so that selectors name what exists.
  std::set<std::string> teams;
  std::set<std::string> versions;
  uint32_t nextVip = (10u << 24) | (96u << 16) | 1; // services' addresses, + 256

  size_t ruleCount() const {
    size_t count = 0;
    for (const auto& policy : policies)
      for (const auto* block : {&policy.ingress, &policy.egress})
        if (*block) count += (*block)->size();
    return count;
  }
  size_t endpointCount() const {
    size_t count = 0;
    for (const auto& node : nodes) count += node.endpoints.size();
    return count;
  }
};

struct Options {
  size_t endpoints = 1000;
  size_t rules = 1000;
  size_t nodes = 0; // 0: one per 100 endpoints, at least 2
  uint64_t seed = 1;
  bool relabel = false;
  size_t edits = 0;
  uint64_t editSeed = 1;
  std::filesystem::path outDir;
};

[[noreturn]] void usage(int status) {
  (status ? std::cerr : std::cout)
      << "usage: gen_cluster --endpoints N --rules R [--nodes K] [--seed S] [--relabel]\n"
         "                   [--edits E [--edit-seed T]] -o DIR\n"
         "writes DIR/cluster.pol and DIR/cluster.yaml; --edits: after the first E edits of\n"
         "a random sequence of them (rules, labels, endpoints, services, nodes)\n";
  std::exit(status);
}

Options parseOptions(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(2);
      return argv[++i];
    };
    if (arg == "--endpoints")
      options.endpoints = std::stoul(value());
    else if (arg == "--rules")
      options.rules = std::stoul(value());
    else if (arg == "--nodes")
      options.nodes = std::stoul(value());
    else if (arg == "--seed")
      options.seed = std::stoull(value());
    else if (arg == "--relabel")
      options.relabel = true;
    else if (arg == "--edits")
      options.edits = std::stoul(value());
    else if (arg == "--edit-seed")
      options.editSeed = std::stoull(value());
    else if (arg == "-o")
      options.outDir = value();
    else if (arg == "-h" || arg == "--help")
      usage(0);
    else
      usage(2);
  }
  if (options.outDir.empty() || options.endpoints == 0) usage(2);
  if (options.nodes == 0) options.nodes = std::max<size_t>(2, options.endpoints / 100);
  return options;
}

std::string quote(const std::string& s) {
  return "\"" + s + "\"";
}

std::string ipv4(uint32_t address) {
  return std::to_string(address >> 24) + "." + std::to_string((address >> 16) & 255) + "." +
         std::to_string((address >> 8) & 255) + "." + std::to_string(address & 255);
}

std::string serviceName(const Cluster& cluster, size_t ns, size_t app) {
  return cluster.namespaces[ns].name + "-" + kApps[app].name;
}

std::string endpointName(const Cluster& cluster, size_t deployment, size_t replica) {
  const auto& d = cluster.deployments[deployment];
  return cluster.namespaces[d.ns].name + "-" + kApps[d.app].name + "-" + d.version + "-" +
         std::to_string(deployment) + "-" + std::to_string(replica);
}

// The (namespace, app) pairs of the tenants, in order.
std::vector<std::pair<size_t, size_t>> tenantApps(const Cluster& cluster) {
  std::vector<std::pair<size_t, size_t>> pairs;
  for (size_t ns = 1; ns < cluster.namespaces.size(); ++ns)
    for (size_t app : cluster.namespaces[ns].apps) pairs.emplace_back(ns, app);
  return pairs;
}

// ---------------------------------------------------------------------------
// Generation: the cluster of --endpoints, --rules, --nodes and --seed.

class Generator {
public:
  Generator(const Options& options, Cluster& cluster)
      : options_(options), random_(options.seed), cluster_(cluster) {}

  // The order of the steps is the order in which they draw random numbers:
  // changing it changes every cluster bench/build measures.
  void generate() {
    makeNamespaces();
    makeDeployments();
    makePolicies();
    placeEndpoints();
    makeServices();
  }

private:
  void makeNamespaces();
  void makeDeployments();
  void makePolicies();
  void placeEndpoints();
  void makeServices();
  bool hasApp(size_t ns, size_t app) const {
    const auto& apps = cluster_.namespaces[ns].apps;
    return std::find(apps.begin(), apps.end(), app) != apps.end();
  }
  void allow(Block& block, std::string peer, std::string ports = "") {
    block->push_back({false, std::move(peer), std::move(ports)});
    ++rules_;
  }
  void deny(Block& block, std::string peer, std::string ports = "") {
    block->push_back({true, std::move(peer), std::move(ports)});
    ++rules_;
  }
  std::string randomPort(unsigned base, unsigned span) {
    return std::to_string(base + random_.below(span));
  }
  void appPolicy(size_t ns, size_t app, size_t round);
  void appIngress(Block& ingress, size_t ns, size_t app, size_t round, const std::string& version);
  void appEgress(Block& egress, size_t ns, size_t app, size_t round, const std::string& version);
  void teamPolicy(size_t round);

  const Options& options_;
  Random random_;
  Cluster& cluster_;
  size_t rules_ = 0;
};

void Generator::makeNamespaces() {
  const std::vector<std::string> envs = {"prod", "prod", "staging", "dev"};
  size_t tenants = std::clamp<size_t>(options_.endpoints / 200, 3, 48);
  Namespace platform{"platform", "platform", "platform", "prod", {}};
  for (size_t app = 0; app < kApps.size(); ++app)
    if (kApps[app].role == "platform") platform.apps.push_back(app);
  cluster_.namespaces.push_back(std::move(platform));
  for (size_t i = 0; i < tenants; ++i) {
    Namespace ns;
    ns.name = "team" + std::to_string(i);
    ns.tier = "tenant";
    ns.team = "t" + std::to_string(i % 8);
    ns.env = envs[i % envs.size()];
    // Every tenant runs a web tier and a database; the rest varies.
    for (size_t app = 0; app < kApps.size(); ++app)
      if (kApps[app].role == "platform")
        continue;
      else if (kApps[app].name == "web" || kApps[app].name == "db" || random_.chance(55))
        ns.apps.push_back(app);
    cluster_.namespaces.push_back(std::move(ns));
  }
}

void Generator::makeDeployments() {
  // Deployments of 1-8 replicas, round-robin over the namespaces' apps,
  // until every endpoint has one. Replicas share labels, so one identity.
  auto& namespaces = cluster_.namespaces;
  auto& deployments = cluster_.deployments;
  const auto slots = tenantApps(cluster_);
  size_t placed = 0;
  for (size_t app : namespaces[0].apps) {
    size_t replicas = std::min<size_t>(options_.endpoints - placed, 2);
    if (replicas == 0) break;
    deployments.push_back({0, app, "v1", false, false, replicas});
    placed += replicas;
  }
  for (size_t i = 0; placed < options_.endpoints; ++i) {
    auto [ns, app] = slots[i % slots.size()];
    Deployment d;
    d.ns = ns;
    d.app = app;
    d.version = "v" + std::to_string(1 + i / slots.size() % 3);
    d.canary = random_.chance(10);
    d.ipv6 = random_.chance(20);
    d.replicas = std::min(options_.endpoints - placed, 1 + random_.below(8));
    placed += d.replicas;
    deployments.push_back(d);
  }
  // Small clusters do not reach every app: services and policies are only
  // written for the apps that run.
  for (auto& ns : namespaces) ns.apps.clear();
  for (const auto& d : deployments)
    if (!hasApp(d.ns, d.app)) namespaces[d.ns].apps.push_back(d.app);
  for (auto& ns : namespaces) std::sort(ns.apps.begin(), ns.apps.end());
  for (const auto& ns : namespaces)
    if (ns.tier == "tenant" && !ns.apps.empty()) cluster_.teams.insert(ns.team);
  for (const auto& d : deployments) cluster_.versions.insert(d.version);
}

// Endpoints spread over the nodes in turn; every node has its own /16.
void Generator::placeEndpoints() {
  for (size_t node = 0; node < options_.nodes; ++node) cluster_.nodes.push_back({node, 0, {}});
  size_t index = 0;
  const size_t relabeled = options_.endpoints / 2;
  for (size_t di = 0; di < cluster_.deployments.size(); ++di) {
    for (size_t r = 0; r < cluster_.deployments[di].replicas; ++r, ++index) {
      auto& node = cluster_.nodes[index % options_.nodes];
      Endpoint endpoint{endpointName(cluster_, di, r), di, cluster_.deployments[di].version, "",
                        node.nextSlot++};
      if (options_.relabel && index == relabeled) endpoint.rollout = "pending";
      node.endpoints.push_back(std::move(endpoint));
    }
  }
}

void Generator::makeServices() {
  cluster_.services.push_back({"kube-dns", "platform", "10.96.0.10", "udp/53, tcp/53", "dns"});
  for (size_t ns = 1; ns < cluster_.namespaces.size(); ++ns)
    for (size_t app : cluster_.namespaces[ns].apps)
      cluster_.services.push_back({serviceName(cluster_, ns, app), cluster_.namespaces[ns].name,
                                   ipv4(cluster_.nextVip++ + 256), kApps[app].port,
                                   kApps[app].name});
}

// One policy for an app of a namespace. Round 0 selects every replica and
// opens the app's call graph; later rounds select a version or the
// non-canaries and add narrower rules with varied ports and prefixes, so
// rules overlap the way hand-written ones do without repeating each other.
void Generator::appPolicy(size_t ns, size_t app, size_t round) {
  const auto& a = kApps[app];
  const auto& n = cluster_.namespaces[ns];
  const std::string version = random_.pick(cluster_.versions);
  Policy policy;
  policy.name = n.name + "-" + a.name + "-" + std::to_string(round);
  policy.subject = "namespace == " + quote(n.name) + " && app == " + quote(a.name);
  if (round % 3 == 1) policy.subject += " && version == " + quote(version);
  if (round % 3 == 2) policy.subject += " && !has(canary)";
  policy.ingress.emplace();
  appIngress(policy.ingress, ns, app, round, version);
  // Egress is isolated for prod namespaces, data apps and odd rounds, so
  // that endpoints differ in the directions they isolate.
  if (n.env == "prod" || a.role == "data" || round % 2 == 1) {
    policy.egress.emplace();
    appEgress(policy.egress, ns, app, round, version);
  }
  cluster_.policies.push_back(std::move(policy));
}

// Where two random numbers go into one rule, they are drawn in the order
// the generator has always drawn them (the clusters bench/build measures
// depend on it).
void Generator::appIngress(Block& ingress, size_t ns, size_t app, size_t round,
                           const std::string& version) {
  const auto& a = kApps[app];
  const auto& n = cluster_.namespaces[ns];
  std::string callers;
  for (size_t other : n.apps)
    for (const auto& callee : kApps[other].callees)
      if (callee == a.name) callers += (callers.empty() ? "" : ", ") + quote(kApps[other].name);
  const std::string fromCallers = "namespace == " + quote(n.name) + " && app in (" + callers + ")";
  if (round == 0) {
    if (!callers.empty()) allow(ingress, fromCallers, "tcp/" + a.portName);
    if (a.role == "frontend") allow(ingress, "entity world", "tcp/443, tcp/80");
    allow(ingress, "namespace == \"platform\" && app == \"prometheus\"", "tcp/metrics");
    return;
  }
  if (!callers.empty())
    allow(ingress, fromCallers + " && version == " + quote(version),
          "tcp/" + randomPort(10000, 10000));
  uint32_t base = 8000 + 100 * uint32_t(random_.below(20));
  allow(ingress,
        "namespace.team == " + quote(random_.pick(cluster_.teams)) + " && role == \"frontend\"",
        "tcp/" + std::to_string(base) + "-" + std::to_string(base + 99));
  if (random_.chance(30)) {
    auto net = "172.16." + std::to_string(random_.below(64));
    allow(ingress, "cidr " + net + ".0/24 except " + net + ".0/28",
          "tcp/" + randomPort(1024, 4000));
  }
  if (random_.chance(25)) {
    const std::string port = randomPort(1, 1024);
    const std::string peerApp = kApps[random_.below(kApps.size())].name;
    deny(ingress, "namespace.env == \"dev\" && app == " + quote(peerApp), "tcp/" + port);
  }
  if (random_.chance(15)) allow(ingress, "app == \"monitor\"", "icmp type 8");
  if (random_.chance(10))
    allow(ingress, "cidr fd10:" + std::to_string(random_.below(100)) + "::/64", "tcp/443, udp/443");
}

void Generator::appEgress(Block& egress, size_t ns, size_t app, size_t round,
                          const std::string& version) {
  const auto& a = kApps[app];
  const auto& n = cluster_.namespaces[ns];
  if (round == 0) {
    for (const auto& callee : a.callees) {
      auto it =
          std::find_if(kApps.begin(), kApps.end(), [&](const App& x) { return x.name == callee; });
      size_t calleeIndex = size_t(it - kApps.begin());
      if (hasApp(ns, calleeIndex))
        allow(egress, "service " + quote(serviceName(cluster_, ns, calleeIndex)));
    }
    allow(egress, "service \"kube-dns\"");
    return;
  }
  if (!a.callees.empty()) {
    const std::string port = randomPort(10000, 10000);
    const std::string callee = a.callees[random_.below(a.callees.size())];
    allow(egress,
          "app == " + quote(callee) + " && version == " + quote(version) +
              " && namespace.team == " + quote(n.team),
          "tcp/" + port);
  }
  if (random_.chance(50)) {
    auto net = "10.200." + std::to_string(random_.below(32));
    unsigned first = 5432 + 8 * unsigned(random_.below(8));
    allow(egress, "cidr " + net + ".0/24 except " + net + ".128/25",
          "tcp/" + std::to_string(first) + "-" + std::to_string(first + 7));
  }
  if (random_.chance(30)) allow(egress, "entity world", "tcp/" + randomPort(443, 2000));
  if (random_.chance(20))
    deny(egress, "cidr 169.254." + std::to_string(random_.below(256)) + ".0/24");
}

// Team-wide policies: broad selectors that overlap the app ones.
void Generator::teamPolicy(size_t round) {
  const auto& teams = cluster_.teams;
  std::string team = *std::next(teams.begin(), long(round % teams.size()));
  Policy policy;
  policy.name = "team-" + team + "-" + std::to_string(round);
  policy.subject = "namespace.team == " + quote(team) + " && role in (\"backend\", \"data\")";
  policy.ingress.emplace();
  allow(policy.ingress, "group \"corp\"", "tcp/" + std::to_string(2200 + round));
  deny(policy.ingress, "group \"blocked\"", "udp/" + std::to_string(5000 + round));
  allow(policy.ingress, "namespace.team == " + quote(team) + " && has(canary)",
        "tcp/" + std::to_string(10000 + 16 * round) + "-" +
            std::to_string(10000 + 16 * round + 15));
  policy.egress.emplace();
  allow(policy.egress, "group \"partners\"", "tcp/" + std::to_string(8443 + round));
  deny(policy.egress, "cidr 198.18." + std::to_string(random_.below(2)) + ".0/24",
       "udp/" + std::to_string(7000 + round));
  cluster_.policies.push_back(std::move(policy));
}

void Generator::makePolicies() {
  Policy dns{"dns", "namespace == \"platform\" && app == \"dns\"", std::vector<Rule>{}, {}};
  allow(dns.ingress, "entity cluster", "udp/53, tcp/53");
  cluster_.policies.push_back(std::move(dns));
  // Egress only: the platform's scraper is open to connections, not from them.
  Policy prometheus{
      "prometheus", "namespace == \"platform\" && app == \"prometheus\"", {}, std::vector<Rule>{}};
  allow(prometheus.egress, "namespace.tier == \"tenant\"", "tcp/metrics");
  allow(prometheus.egress, "service \"kube-dns\"");
  cluster_.policies.push_back(std::move(prometheus));
  const auto slots = tenantApps(cluster_);
  for (size_t i = 0; rules_ < options_.rules; ++i) {
    if (i % 10 == 9)
      teamPolicy(i / 10);
    else
      appPolicy(slots[i % slots.size()].first, slots[i % slots.size()].second, i / slots.size());
  }
}

// ---------------------------------------------------------------------------
// Edits: what commits to a repository of policy and topology change. Each
// keeps the cluster valid (polc builds it without errors): names and
// addresses stay unique, every node keeps an endpoint, and a service goes
// with the rules that name it.

class Editor {
public:
  Editor(Cluster& cluster, uint64_t seed) : cluster_(cluster), random_(seed) {
    for (const auto& node : cluster_.nodes) nextNode_ = std::max(nextNode_, node.index + 1);
  }

  // Applies one edit of a kind drawn at random and says what it did.
  std::string editOnce();

private:
  // An edit that cannot apply (removing the last node) returns nothing, and
  // another kind is drawn.
  using Edit = std::optional<std::string> (Editor::*)();
  static const std::vector<std::pair<const char*, Edit>> kEdits;

  std::optional<std::string> addRule();
  std::optional<std::string> removeRule();
  std::optional<std::string> changePort();
  std::optional<std::string> relabelEndpoint();
  std::optional<std::string> addEndpoint();
  std::optional<std::string> removeEndpoint();
  std::optional<std::string> addService();
  std::optional<std::string> removeService();
  std::optional<std::string> addNode();
  std::optional<std::string> removeNode();

  struct RuleAt {
    Policy* policy;
    std::vector<Rule>* block;
    size_t index;
  };
  struct EndpointAt {
    Node* node;
    size_t index;
  };
  std::vector<RuleAt> allRules(const std::function<bool(const Rule&)>& wanted);
  // Endpoints whose node has another one: removing or moving them empties
  // no node.
  std::vector<EndpointAt> endpointsOnSharedNodes();
  Node& leastLoadedNode();
  void moveTo(Node& node, Endpoint endpoint);
  std::string randomPorts();
  std::string randomPeer(bool egress);

  Cluster& cluster_;
  Random random_;
  size_t edits_ = 0;
  size_t nextNode_ = 0;
  size_t addedServices_ = 0;
};

const std::vector<std::pair<const char*, Editor::Edit>> Editor::kEdits = {
    {"add-rule", &Editor::addRule},         {"remove-rule", &Editor::removeRule},
    {"change-port", &Editor::changePort},   {"relabel-endpoint", &Editor::relabelEndpoint},
    {"add-endpoint", &Editor::addEndpoint}, {"remove-endpoint", &Editor::removeEndpoint},
    {"add-service", &Editor::addService},   {"remove-service", &Editor::removeService},
    {"add-node", &Editor::addNode},         {"remove-node", &Editor::removeNode},
};

std::string Editor::editOnce() {
  ++edits_;
  for (;;) {
    const auto& [kind, edit] = random_.pick(kEdits);
    if (auto done = (this->*edit)()) return std::string(kind) + ": " + *done;
  }
}

std::string blockName(const Policy& policy, const std::vector<Rule>* block) {
  return "policy " + quote(policy.name) +
         (policy.egress && block == &*policy.egress ? " egress" : " ingress");
}

std::vector<Editor::RuleAt> Editor::allRules(const std::function<bool(const Rule&)>& wanted) {
  std::vector<RuleAt> rules;
  for (auto& policy : cluster_.policies)
    for (auto* block : {&policy.ingress, &policy.egress})
      if (*block)
        for (size_t i = 0; i < (*block)->size(); ++i)
          if (wanted((**block)[i])) rules.push_back({&policy, &**block, i});
  return rules;
}

std::vector<Editor::EndpointAt> Editor::endpointsOnSharedNodes() {
  std::vector<EndpointAt> endpoints;
  for (auto& node : cluster_.nodes)
    if (node.endpoints.size() > 1)
      for (size_t i = 0; i < node.endpoints.size(); ++i) endpoints.push_back({&node, i});
  return endpoints;
}

// Where a scheduler would put a new endpoint: the node with the fewest.
Node& Editor::leastLoadedNode() {
  Node* best = nullptr;
  for (auto& node : cluster_.nodes)
    if (!best || node.endpoints.size() < best->endpoints.size()) best = &node;
  return *best;
}

// On its new node an endpoint gets that node's addresses and an interface
// of its own; its name and labels stay.
void Editor::moveTo(Node& node, Endpoint endpoint) {
  endpoint.slot = node.nextSlot++;
  node.endpoints.push_back(std::move(endpoint));
}

std::string Editor::randomPorts() {
  const char* protocol = random_.chance(70) ? "tcp/" : "udp/";
  const unsigned first = 1024 + unsigned(random_.below(60000));
  if (random_.chance(25))
    return protocol + std::to_string(first) + "-" + std::to_string(first + random_.below(500));
  return protocol + std::to_string(first);
}

// A peer of the kinds the generated policy uses, naming what exists.
std::string Editor::randomPeer(bool egress) {
  switch (random_.below(egress ? 6 : 5)) {
  case 0: {
    const auto& d = random_.pick(cluster_.deployments);
    return "namespace == " + quote(cluster_.namespaces[d.ns].name) +
           " && app == " + quote(kApps[d.app].name);
  }
  case 1: {
    const std::string team = random_.pick(cluster_.teams);
    return "namespace.team == " + quote(team) +
           " && version == " + quote(random_.pick(cluster_.versions));
  }
  case 2:
    return "cidr 10.201." + std::to_string(random_.below(256)) + ".0/24";
  case 3:
    return "entity world";
  case 4:
    return random_.chance(50) ? "group \"corp\"" : "group \"partners\"";
  default:
    return "service " + quote(random_.pick(cluster_.services).name);
  }
}

// A rule at the end of a block; a policy without that block gets one, and
// so isolates one more direction.
std::optional<std::string> Editor::addRule() {
  auto& policy = cluster_.policies[random_.below(cluster_.policies.size())];
  const bool egress = random_.chance(50);
  Block& block = egress ? policy.egress : policy.ingress;
  if (!block) block.emplace();
  Rule rule{random_.chance(20), randomPeer(egress), random_.chance(10) ? "" : randomPorts()};
  block->push_back(rule);
  return blockName(policy, &*block) + ": " + ruleText(rule, egress);
}

// A block left empty stays: it still isolates its direction.
std::optional<std::string> Editor::removeRule() {
  auto rules = allRules([](const Rule&) { return true; });
  if (rules.empty()) return std::nullopt;
  const auto at = random_.pick(rules);
  const bool egress = at.policy->egress && at.block == &*at.policy->egress;
  std::string what =
      blockName(*at.policy, at.block) + ": " + ruleText((*at.block)[at.index], egress);
  at.block->erase(at.block->begin() + long(at.index));
  return what;
}

std::optional<std::string> Editor::changePort() {
  auto rules = allRules([](const Rule& rule) { return !rule.ports.empty(); });
  if (rules.empty()) return std::nullopt;
  const auto at = random_.pick(rules);
  auto& rule = (*at.block)[at.index];
  const std::string before = rule.ports;
  rule.ports = randomPorts();
  return blockName(*at.policy, at.block) + ": " + rule.peer + " on " + before + " -> " + rule.ports;
}

// Another version moves the endpoint to an identity that exists (and to the
// policies that select that version); a rollout label of its own gives it
// an identity of its own.
std::optional<std::string> Editor::relabelEndpoint() {
  std::vector<Endpoint*> endpoints;
  for (auto& node : cluster_.nodes)
    for (auto& endpoint : node.endpoints) endpoints.push_back(&endpoint);
  if (endpoints.empty()) return std::nullopt;
  Endpoint& endpoint = *random_.pick(endpoints);
  std::vector<std::string> otherVersions;
  for (const auto& version : cluster_.versions)
    if (version != endpoint.version) otherVersions.push_back(version);
  if (!otherVersions.empty() && random_.chance(50)) {
    endpoint.version = random_.pick(otherVersions);
    return endpoint.name + ": version " + endpoint.version;
  }
  endpoint.rollout = "edit-" + std::to_string(edits_);
  return endpoint.name + ": rollout " + endpoint.rollout;
}

// One more replica of a deployment: the same labels, so an identity that
// exists, on the node with the fewest endpoints.
std::optional<std::string> Editor::addEndpoint() {
  const size_t deployment = random_.below(cluster_.deployments.size());
  auto& d = cluster_.deployments[deployment];
  Endpoint endpoint{endpointName(cluster_, deployment, d.replicas++), deployment, d.version, "", 0};
  Node& node = leastLoadedNode();
  moveTo(node, endpoint);
  return endpoint.name + " on node-" + std::to_string(node.index);
}

std::optional<std::string> Editor::removeEndpoint() {
  auto endpoints = endpointsOnSharedNodes();
  if (endpoints.empty()) return std::nullopt;
  const auto at = random_.pick(endpoints);
  auto& list = at.node->endpoints;
  std::string what = list[at.index].name + " from node-" + std::to_string(at.node->index);
  list.erase(list.begin() + long(at.index));
  return what;
}

// Another service in front of a deployment's app, at the next free address.
std::optional<std::string> Editor::addService() {
  const auto& d = random_.pick(cluster_.deployments);
  Service service{serviceName(cluster_, d.ns, d.app) + "-extra" + std::to_string(addedServices_++),
                  cluster_.namespaces[d.ns].name, ipv4(cluster_.nextVip++ + 256), kApps[d.app].port,
                  kApps[d.app].name};
  cluster_.services.push_back(service);
  return service.name + " at " + service.vip;
}

// A rule naming a service that is gone would not compile: as in a
// repository, the commit that removes the service removes them too.
std::optional<std::string> Editor::removeService() {
  if (cluster_.services.empty()) return std::nullopt;
  const size_t index = random_.below(cluster_.services.size());
  const std::string peer = "service " + quote(cluster_.services[index].name);
  cluster_.services.erase(cluster_.services.begin() + long(index));
  size_t removed = 0;
  for (auto& policy : cluster_.policies)
    for (auto* block : {&policy.ingress, &policy.egress})
      if (*block)
        removed += std::erase_if(**block, [&](const Rule& rule) { return rule.peer == peer; });
  return peer.substr(std::string("service ").size()) + " and " + std::to_string(removed) +
         " rules naming it";
}

// A node joins and the scheduler moves 1-3 endpoints onto it from nodes
// that keep others.
std::optional<std::string> Editor::addNode() {
  // With one endpoint per node, none can move and the new node would be empty.
  if (endpointsOnSharedNodes().empty()) return std::nullopt;
  cluster_.nodes.push_back({nextNode_++, 0, {}});
  Node& added = cluster_.nodes.back();
  const size_t moves = 1 + random_.below(3);
  std::string moved;
  for (size_t i = 0; i < moves; ++i) {
    auto endpoints = endpointsOnSharedNodes();
    std::erase_if(endpoints, [&](const EndpointAt& at) { return at.node == &added; });
    if (endpoints.empty()) break;
    const auto at = random_.pick(endpoints);
    Endpoint endpoint = at.node->endpoints[at.index];
    at.node->endpoints.erase(at.node->endpoints.begin() + long(at.index));
    moved += (moved.empty() ? "" : ", ") + endpoint.name;
    moveTo(added, std::move(endpoint));
  }
  return "node-" + std::to_string(added.index) + " with " + moved;
}

// A node leaves: its endpoints are rescheduled on the others, or gone with it.
std::optional<std::string> Editor::removeNode() {
  if (cluster_.nodes.size() < 2) return std::nullopt;
  const size_t index = random_.below(cluster_.nodes.size());
  Node gone = std::move(cluster_.nodes[index]);
  cluster_.nodes.erase(cluster_.nodes.begin() + long(index));
  const bool reschedule = random_.chance(50);
  if (reschedule)
    for (auto& endpoint : gone.endpoints) moveTo(leastLoadedNode(), std::move(endpoint));
  return "node-" + std::to_string(gone.index) + (reschedule ? ", moving " : ", dropping ") +
         std::to_string(gone.endpoints.size()) + " endpoints";
}

// ---------------------------------------------------------------------------
// The text of the cluster.

void writeBlock(std::ostringstream& out, const char* direction, const Block& block) {
  if (!block) return;
  const bool egress = std::string_view(direction) == "egress";
  out << "  " << direction << " {\n";
  for (const auto& rule : *block) out << "    " << ruleText(rule, egress) << "\n";
  out << "  }\n";
}

std::string policyText(const Cluster& cluster) {
  std::ostringstream out;
  out << "# generated by bench/build/gen_cluster (see cluster.yaml for the arguments)\n\n"
         "default deny ingress for namespace.tier == \"tenant\"\n"
         "default deny egress for namespace.env == \"prod\" && role == \"data\"\n\n";
  for (const auto& policy : cluster.policies) {
    out << "policy " << quote(policy.name) << " {\n  select " << policy.subject << "\n";
    writeBlock(out, "ingress", policy.ingress);
    writeBlock(out, "egress", policy.egress);
    out << "}\n\n";
  }
  return out.str();
}

void writeEndpoint(std::ostringstream& out, const Cluster& cluster, const Node& node,
                   const Endpoint& endpoint) {
  const auto& d = cluster.deployments[endpoint.deployment];
  const auto& app = kApps[d.app];
  out << "      - { name: " << endpoint.name << ", namespace: " << cluster.namespaces[d.ns].name
      << ", labels: { app: " << app.name << ", role: " << app.role
      << ", version: " << endpoint.version;
  if (d.canary) out << ", canary: \"true\"";
  if (!endpoint.rollout.empty()) out << ", rollout: " << quote(endpoint.rollout);
  // 10.128.0.0/9: 1024 addresses per node.
  uint32_t v4 =
      (10u << 24 | 128u << 16) + uint32_t(node.index) * 1024 + uint32_t(endpoint.slot + 2);
  out << " }, addresses: [" << ipv4(v4);
  if (d.ipv6)
    out << ", \"fd00:" << std::hex << node.index + 1 << "::" << endpoint.slot + 2 << std::dec
        << "\"";
  out << "], interface: bx" << endpoint.slot << ", ports: { " << app.portName << ": " << app.port
      << ", metrics: tcp/9102 } }\n";
}

std::string topologyText(const Cluster& cluster, const Options& options) {
  std::ostringstream out;
  out << "# generated by bench/build/gen_cluster --endpoints " << options.endpoints << " --rules "
      << options.rules << " --nodes " << options.nodes << " --seed " << options.seed
      << (options.relabel ? " --relabel" : "");
  if (options.edits != 0)
    out << " --edits " << options.edits << " --edit-seed " << options.editSeed;
  out << "\ncluster: bench\nnamespaces:\n";
  for (const auto& ns : cluster.namespaces)
    out << "  " << ns.name << ": { labels: { tier: " << ns.tier << ", team: " << ns.team
        << ", env: " << ns.env << " } }\n";
  out << "nodes:\n";
  for (const auto& node : cluster.nodes) {
    out << "  - name: node-" << node.index
        << "\n    address: " << ipv4((10u << 24) | (10u << 16) | uint32_t(node.index + 1))
        << "\n    endpoints:\n";
    for (const auto& endpoint : node.endpoints) writeEndpoint(out, cluster, node, endpoint);
  }
  out << "services:\n";
  for (const auto& s : cluster.services)
    out << "  - { name: " << s.name << ", namespace: " << s.ns << ", vip: " << s.vip << ", ports: ["
        << s.ports << "], selector: { app: " << s.app << " } }\n";
  out << "groups:\n"
         "  - { name: corp, cidrs: [192.168.0.0/16, \"fd10::/48\"] }\n"
         "  - { name: partners, cidrs: [203.0.113.0/24, 198.51.100.0/24] }\n"
         "  - { name: blocked, cidrs: [198.18.0.0/15] }\n";
  return out.str();
}

} // namespace

int main(int argc, char** argv) {
  auto options = parseOptions(argc, argv);
  Cluster cluster;
  Generator(options, cluster).generate();
  Editor editor(cluster, options.editSeed);
  for (size_t k = 1; k <= options.edits; ++k)
    std::cerr << "gen_cluster: edit " << k << " (edit seed " << options.editSeed
              << "): " << editor.editOnce() << "\n";
  std::filesystem::create_directories(options.outDir);
  std::ofstream(options.outDir / "cluster.pol", std::ios::binary) << policyText(cluster);
  std::ofstream(options.outDir / "cluster.yaml", std::ios::binary)
      << topologyText(cluster, options);
  std::cerr << "gen_cluster: " << cluster.endpointCount() << " endpoints ("
            << cluster.deployments.size() << " deployments) on " << cluster.nodes.size()
            << " nodes, " << cluster.ruleCount() << " rules\n";
  return 0;
}
