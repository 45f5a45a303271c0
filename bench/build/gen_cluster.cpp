// Writes a synthetic cluster for the build benchmark: a topology (nodes,
// namespaces, deployments of replicated endpoints, services, CIDR groups)
// and a policy of about --rules rules, shaped like a microservice platform:
// per-app policies along a call graph, namespace-scoped and team-wide
// policies, CIDR peers with excepts, port ranges, named ports, ICMP,
// IPv6 peers and deny rules. The same arguments give the same bytes.
//
//   gen_cluster --endpoints N --rules R [--nodes K] [--seed S] [--relabel] -o DIR
//
// --relabel changes the labels of one endpoint (the incremental case).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
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
  size_t replicas = 1;
};

struct Options {
  size_t endpoints = 1000;
  size_t rules = 1000;
  size_t nodes = 0; // 0: one per 100 endpoints, at least 2
  uint64_t seed = 1;
  bool relabel = false;
  std::filesystem::path outDir;
};

[[noreturn]] void usage(int status) {
  (status ? std::cerr : std::cout)
      << "usage: gen_cluster --endpoints N --rules R [--nodes K] [--seed S] [--relabel] -o DIR\n"
         "writes DIR/cluster.pol and DIR/cluster.yaml\n";
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

class Cluster {
public:
  explicit Cluster(const Options& options) : options_(options), random_(options.seed) {
    makeNamespaces();
    makeDeployments();
  }

  std::string topology() const;
  std::string policy();
  size_t ruleCount() const { return rules_; }
  size_t deploymentCount() const { return deployments_.size(); }

private:
  void makeNamespaces();
  void makeDeployments();
  std::string serviceName(size_t ns, size_t app) const {
    return namespaces_[ns].name + "-" + kApps[app].name;
  }
  bool hasApp(size_t ns, size_t app) const {
    const auto& apps = namespaces_[ns].apps;
    return std::find(apps.begin(), apps.end(), app) != apps.end();
  }
  const std::string& pickFrom(const std::set<std::string>& set) {
    return *std::next(set.begin(), long(random_.below(set.size())));
  }
  void rule(std::ostringstream& out, const std::string& text) {
    out << "    " << text << "\n";
    ++rules_;
  }
  void appPolicy(std::ostringstream& out, size_t ns, size_t app, size_t round);
  void teamPolicy(std::ostringstream& out, size_t round);

  Options options_;
  Random random_;
  std::vector<Namespace> namespaces_;
  std::vector<Deployment> deployments_;
  // Labels in use, so that selectors name what exists.
  std::set<std::string> teams_;
  std::set<std::string> versions_;
  size_t rules_ = 0;
  size_t policies_ = 0;
};

void Cluster::makeNamespaces() {
  const std::vector<std::string> envs = {"prod", "prod", "staging", "dev"};
  size_t tenants = std::clamp<size_t>(options_.endpoints / 200, 3, 48);
  Namespace platform{"platform", "platform", "platform", "prod", {}};
  for (size_t app = 0; app < kApps.size(); ++app)
    if (kApps[app].role == "platform") platform.apps.push_back(app);
  namespaces_.push_back(std::move(platform));
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
    namespaces_.push_back(std::move(ns));
  }
}

void Cluster::makeDeployments() {
  // Deployments of 1-8 replicas, round-robin over the namespaces' apps,
  // until every endpoint has one. Replicas share labels, so one identity.
  std::vector<std::pair<size_t, size_t>> slots;
  for (size_t ns = 1; ns < namespaces_.size(); ++ns)
    for (size_t app : namespaces_[ns].apps) slots.emplace_back(ns, app);
  size_t placed = 0;
  for (size_t app : namespaces_[0].apps) {
    size_t replicas = std::min<size_t>(options_.endpoints - placed, 2);
    if (replicas == 0) break;
    deployments_.push_back({0, app, "v1", false, false, replicas});
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
    deployments_.push_back(d);
  }
  // Small clusters do not reach every app: services and policies are only
  // written for the apps that run.
  for (auto& ns : namespaces_) ns.apps.clear();
  for (const auto& d : deployments_)
    if (!hasApp(d.ns, d.app)) namespaces_[d.ns].apps.push_back(d.app);
  for (auto& ns : namespaces_) std::sort(ns.apps.begin(), ns.apps.end());
  for (const auto& ns : namespaces_)
    if (ns.tier == "tenant" && !ns.apps.empty()) teams_.insert(ns.team);
  for (const auto& d : deployments_) versions_.insert(d.version);
}

std::string Cluster::topology() const {
  std::ostringstream out;
  out << "# generated by bench/build/gen_cluster --endpoints " << options_.endpoints << " --rules "
      << options_.rules << " --nodes " << options_.nodes << " --seed " << options_.seed
      << (options_.relabel ? " --relabel" : "") << "\ncluster: bench\nnamespaces:\n";
  for (const auto& ns : namespaces_)
    out << "  " << ns.name << ": { labels: { tier: " << ns.tier << ", team: " << ns.team
        << ", env: " << ns.env << " } }\n";
  out << "nodes:\n";
  // Endpoints spread over the nodes in turn; every node has its own /16.
  std::vector<std::ostringstream> nodeEndpoints(options_.nodes);
  std::vector<size_t> perNode(options_.nodes);
  size_t index = 0;
  const size_t relabeled = options_.endpoints / 2;
  for (size_t di = 0; di < deployments_.size(); ++di) {
    const auto& d = deployments_[di];
    const auto& app = kApps[d.app];
    for (size_t r = 0; r < d.replicas; ++r, ++index) {
      size_t node = index % options_.nodes;
      size_t slot = perNode[node]++;
      auto& o = nodeEndpoints[node];
      std::string name = namespaces_[d.ns].name + "-" + app.name + "-" + d.version + "-" +
                         std::to_string(di) + "-" + std::to_string(r);
      o << "      - { name: " << name << ", namespace: " << namespaces_[d.ns].name
        << ", labels: { app: " << app.name << ", role: " << app.role << ", version: " << d.version;
      if (d.canary) o << ", canary: \"true\"";
      if (options_.relabel && index == relabeled) o << ", rollout: \"pending\"";
      // 10.128.0.0/9: 1024 addresses per node.
      uint32_t v4 = (10u << 24 | 128u << 16) + uint32_t(node) * 1024 + uint32_t(slot + 2);
      o << " }, addresses: [" << ipv4(v4);
      if (d.ipv6) o << ", \"fd00:" << std::hex << node + 1 << "::" << slot + 2 << std::dec << "\"";
      o << "], interface: bx" << slot << ", ports: { " << app.portName << ": " << app.port
        << ", metrics: tcp/9102 } }\n";
    }
  }
  for (size_t node = 0; node < options_.nodes; ++node) {
    out << "  - name: node-" << node
        << "\n    address: " << ipv4((10u << 24) | (10u << 16) | uint32_t(node + 1))
        << "\n    endpoints:\n"
        << nodeEndpoints[node].str();
  }
  out << "services:\n";
  uint32_t vip = (10u << 24) | (96u << 16) | 1;
  out << "  - { name: kube-dns, namespace: platform, vip: 10.96.0.10, ports: [udp/53, tcp/53], "
         "selector: { app: dns } }\n";
  for (size_t ns = 1; ns < namespaces_.size(); ++ns)
    for (size_t app : namespaces_[ns].apps)
      out << "  - { name: " << serviceName(ns, app) << ", namespace: " << namespaces_[ns].name
          << ", vip: " << ipv4(vip++ + 256) << ", ports: [" << kApps[app].port
          << "], selector: { app: " << kApps[app].name << " } }\n";
  out << "groups:\n"
         "  - { name: corp, cidrs: [192.168.0.0/16, \"fd10::/48\"] }\n"
         "  - { name: partners, cidrs: [203.0.113.0/24, 198.51.100.0/24] }\n"
         "  - { name: blocked, cidrs: [198.18.0.0/15] }\n";
  return out.str();
}

// One policy for an app of a namespace. Round 0 selects every replica and
// opens the app's call graph; later rounds select a version or the
// non-canaries and add narrower rules with varied ports and prefixes, so
// rules overlap the way hand-written ones do without repeating each other.
void Cluster::appPolicy(std::ostringstream& out, size_t ns, size_t app, size_t round) {
  const auto& a = kApps[app];
  const auto& n = namespaces_[ns];
  const std::string version = pickFrom(versions_);
  std::string subject = "namespace == " + quote(n.name) + " && app == " + quote(a.name);
  if (round % 3 == 1) subject += " && version == " + quote(version);
  if (round % 3 == 2) subject += " && !has(canary)";
  out << "policy \"" << n.name << "-" << a.name << "-" << round << "\" {\n  select " << subject
      << "\n  ingress {\n";
  std::string callers;
  for (size_t other : n.apps)
    for (const auto& callee : kApps[other].callees)
      if (callee == a.name) callers += (callers.empty() ? "" : ", ") + quote(kApps[other].name);
  auto randomPort = [&](unsigned base, unsigned span) {
    return std::to_string(base + random_.below(span));
  };
  if (round == 0) {
    if (!callers.empty())
      rule(out, "allow from namespace == " + quote(n.name) + " && app in (" + callers +
                    ") on tcp/" + a.portName);
    if (a.role == "frontend") rule(out, "allow from entity world on tcp/443, tcp/80");
    rule(out, "allow from namespace == \"platform\" && app == \"prometheus\" on tcp/metrics");
  } else {
    if (!callers.empty())
      rule(out, "allow from namespace == " + quote(n.name) + " && app in (" + callers +
                    ") && version == " + quote(version) + " on tcp/" + randomPort(10000, 10000));
    uint32_t base = 8000 + 100 * uint32_t(random_.below(20));
    rule(out, "allow from namespace.team == " + quote(pickFrom(teams_)) +
                  " && role == \"frontend\" on tcp/" + std::to_string(base) + "-" +
                  std::to_string(base + 99));
    if (random_.chance(30)) {
      auto net = "172.16." + std::to_string(random_.below(64));
      rule(out, "allow from cidr " + net + ".0/24 except " + net + ".0/28 on tcp/" +
                    randomPort(1024, 4000));
    }
    if (random_.chance(25))
      rule(out, "deny from namespace.env == \"dev\" && app == " +
                    quote(kApps[random_.below(kApps.size())].name) + " on tcp/" +
                    randomPort(1, 1024));
    if (random_.chance(15)) rule(out, "allow from app == \"monitor\" on icmp type 8");
    if (random_.chance(10))
      rule(out, "allow from cidr fd10:" + std::to_string(random_.below(100)) +
                    "::/64 on tcp/443, udp/443");
  }
  out << "  }\n";
  // Egress is isolated for prod namespaces, data apps and odd rounds, so
  // that endpoints differ in the directions they isolate.
  if (n.env == "prod" || a.role == "data" || round % 2 == 1) {
    out << "  egress {\n";
    if (round == 0) {
      for (const auto& callee : a.callees) {
        auto it = std::find_if(kApps.begin(), kApps.end(),
                               [&](const App& x) { return x.name == callee; });
        size_t calleeIndex = size_t(it - kApps.begin());
        if (hasApp(ns, calleeIndex))
          rule(out, "allow to service " + quote(serviceName(ns, calleeIndex)));
      }
      rule(out, "allow to service \"kube-dns\"");
    } else {
      if (!a.callees.empty())
        rule(out, "allow to app == " + quote(a.callees[random_.below(a.callees.size())]) +
                      " && version == " + quote(version) + " && namespace.team == " +
                      quote(n.team) + " on tcp/" + randomPort(10000, 10000));
      if (random_.chance(50)) {
        auto net = "10.200." + std::to_string(random_.below(32));
        unsigned first = 5432 + 8 * unsigned(random_.below(8));
        rule(out, "allow to cidr " + net + ".0/24 except " + net + ".128/25 on tcp/" +
                      std::to_string(first) + "-" + std::to_string(first + 7));
      }
      if (random_.chance(30)) rule(out, "allow to entity world on tcp/" + randomPort(443, 2000));
      if (random_.chance(20))
        rule(out, "deny to cidr 169.254." + std::to_string(random_.below(256)) + ".0/24");
    }
    out << "  }\n";
  }
  out << "}\n\n";
  ++policies_;
}

// Team-wide policies: broad selectors that overlap the app ones.
void Cluster::teamPolicy(std::ostringstream& out, size_t round) {
  std::string team = *std::next(teams_.begin(), long(round % teams_.size()));
  out << "policy \"team-" << team << "-" << round
      << "\" {\n  select namespace.team == " << quote(team)
      << " && role in (\"backend\", \"data\")\n  ingress {\n";
  rule(out, "allow from group \"corp\" on tcp/" + std::to_string(2200 + round));
  rule(out, "deny from group \"blocked\" on udp/" + std::to_string(5000 + round));
  rule(out, "allow from namespace.team == " + quote(team) + " && has(canary) on tcp/" +
                std::to_string(10000 + 16 * round) + "-" + std::to_string(10000 + 16 * round + 15));
  out << "  }\n  egress {\n";
  rule(out, "allow to group \"partners\" on tcp/" + std::to_string(8443 + round));
  rule(out, "deny to cidr 198.18." + std::to_string(random_.below(2)) + ".0/24 on udp/" +
                std::to_string(7000 + round));
  out << "  }\n}\n\n";
  ++policies_;
}

std::string Cluster::policy() {
  std::ostringstream out;
  out << "# generated by bench/build/gen_cluster (see cluster.yaml for the arguments)\n\n"
         "default deny ingress for namespace.tier == \"tenant\"\n"
         "default deny egress for namespace.env == \"prod\" && role == \"data\"\n\n"
         "policy \"dns\" {\n  select namespace == \"platform\" && app == \"dns\"\n  ingress {\n";
  rule(out, "allow from entity cluster on udp/53, tcp/53");
  out << "  }\n}\n\n";
  // Egress only: the platform's scraper is open to connections, not from them.
  out << "policy \"prometheus\" {\n  select namespace == \"platform\" && app == \"prometheus\"\n"
         "  egress {\n";
  rule(out, "allow to namespace.tier == \"tenant\" on tcp/metrics");
  rule(out, "allow to service \"kube-dns\"");
  out << "  }\n}\n\n";
  std::vector<std::pair<size_t, size_t>> slots;
  for (size_t ns = 1; ns < namespaces_.size(); ++ns)
    for (size_t app : namespaces_[ns].apps) slots.emplace_back(ns, app);
  for (size_t i = 0; rules_ < options_.rules; ++i) {
    if (i % 10 == 9)
      teamPolicy(out, i / 10);
    else
      appPolicy(out, slots[i % slots.size()].first, slots[i % slots.size()].second,
                i / slots.size());
  }
  return out.str();
}

} // namespace

int main(int argc, char** argv) {
  auto options = parseOptions(argc, argv);
  Cluster cluster(options);
  std::string policy = cluster.policy();
  std::filesystem::create_directories(options.outDir);
  std::ofstream(options.outDir / "cluster.pol", std::ios::binary) << policy;
  std::ofstream(options.outDir / "cluster.yaml", std::ios::binary) << cluster.topology();
  std::cerr << "gen_cluster: " << options.endpoints << " endpoints (" << cluster.deploymentCount()
            << " deployments) on " << options.nodes << " nodes, " << cluster.ruleCount()
            << " rules\n";
  return 0;
}
