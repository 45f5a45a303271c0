// Differential test: random policies and topologies (generator.h) through
// the real frontend, topology loader and sema; tables and ipcache from the
// real passes, loaded into compiled endpoint programs the way the loader
// fills maps; random first packets (packets.h) through BPF_PROG_TEST_RUN.
// Every verdict must equal the reference evaluator's judge() for that side,
// with the peer identity computed by the evaluator's resolveAddress; the
// ipcache map's answer for the peer address is checked against it too.
// Flows to a service's frontend are translated as the compiler predicts
// (services::pickBackend over the loader's own encoding of services.json)
// and judged on the backend; their replies come back from the vip.
//
// Exit codes: 0 all agree, 1 a mismatch (or too many rejected inputs),
// 2 usage, 77 skipped (no root or BPF) unless POLC_REQUIRE_KERNEL=1.
#include "bpf_harness.h"
#include "generator.h"
#include "packet_builder.h"
#include "packets.h"

#include "polc/codegen/specialize_endpoint.h"
#include "polc/diagnostics/diagnostics.h"
#include "polc/evaluator/evaluator.h"
#include "polc/frontend/formatter.h"
#include "polc/frontend/parser.h"
#include "polc/ir/text.h"
#include "polc/maps/map_backend.h"
#include "polc/maps/service_encoding.h"
#include "polc/passes/tables.h"
#include "polc/pipeline/pipeline.h"
#include "polc/services/service_table.h"
#include "polc/topology/loader.h"

#include <CLI/CLI.hpp>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/pkt_cls.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <list>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace polc::difftest {
namespace {

constexpr int kExitMismatch = 1;
constexpr int kExitSkip = 77;

struct Options {
  std::optional<uint64_t> seed;
  int policies = 200;
  int packetsPerPolicy = 1000;
  bool exactObjects = false;
  int maxFailures = 3;
  bool verbose = false;
};

struct Stats {
  int policies = 0;
  int rejected = 0;
  long packets = 0;
  long allowed = 0;
  long replies = 0; // replies sent after connection-opening packets
  // Sequences across a table-only reload (checkReload).
  long reloads = 0;
  long reloadsNeedingNewPrograms = 0; // not table-only: skipped
  long established = 0;               // packets sent again on an open flow
  long revoked = 0;                   // flows the reload stopped
  long translatedAcrossReloads = 0;   // flows to a vip kept on their backend
  long refusingReloads = 0;           // reloads that left every frontend refusing
  long translated = 0;                // flows to a frontend, sent to a backend
  long translatedEchoes = 0;          // of which echo requests
  long refused = 0;                   // flows to a frontend without backends
  int objects = 0;
  int failures = 0;
  // How often each evaluator decision and each kind of peer came up: a
  // comparison that never sees a deny by rule or a CIDR peer proves little.
  std::map<evaluator::Decision, long> decisions;
  std::map<std::string, long> peerKinds;
  std::string firstRejection;
};

// An endpoint's object is its specialized C, as driver/src/write_build.cpp
// emits it (codegen::specializeEndpoint: isolation and the shape of its
// tables), so every variant of bpf/lib/polc_features.h meets the evaluator.
// The identity does not take part in the verdict (polc_handle_packet ignores
// it), so by default one object per distinct C serves every endpoint;
// --exact-objects loads one per (identity, C) to check that too. Tables
// compiled in as code are .rodata, set at load: one loaded object per
// distinct inline table, all from the same compiled file.
struct ObjectShape {
  uint32_t identity = 0;
  std::string source;
  std::vector<artifacts::PolicyEntry> inlineIngress, inlineEgress;
  auto operator<=>(const ObjectShape&) const = default;
};

// Compiled objects stay on disk for the whole run; only the most recently
// used few stay loaded: every loaded object holds its own maps (the
// conntrack LRU alone is tens of MB), and with the key prefix lengths in
// the shape a run compiles about one object per policy.
class ObjectCache {
public:
  explicit ObjectCache(bool exact) : exact_(exact) {}

  // The program polc build would emit for the endpoint with these tables.
  // `services`: the cluster has frontends to translate (the build's
  // topology.hasFrontends()).
  static codegen::EndpointProgramSpec specFor(const ir::Endpoint& endpoint,
                                              const artifacts::PolicyTable& ingress,
                                              const artifacts::PolicyTable& egress,
                                              const artifacts::Ipcache& ipcache, bool services) {
    // Half the endpoints get inline tables of up to 8 entries (polc build
    // --inline-max 8), so that larger inline tables meet the evaluator too.
    const unsigned maxInline = endpoint.identity % 2 ? 8 : codegen::kMaxInlineEntries;
    codegen::EndpointProgramSpec spec =
        codegen::specializeEndpoint(ingress, egress, codegen::nodeShapeOf(ipcache), maxInline);
    // Both programs even where the build attaches none (then both pass all).
    spec.egressProgram = spec.ingressProgram = true;
    spec.services = services;
    return spec;
  }

  Expected<testing::BpfHarness*> forEndpoint(const ir::Endpoint& endpoint,
                                             const artifacts::PolicyTable& ingress,
                                             const artifacts::PolicyTable& egress,
                                             const artifacts::Ipcache& ipcache, bool services,
                                             Stats& stats) {
    codegen::EndpointProgramSpec spec = specFor(endpoint, ingress, egress, ipcache, services);
    spec.identity = exact_ ? endpoint.identity : 256;
    testing::InlineTables inlineTables;
    if (spec.ingressInlineEntries != 0) inlineTables.ingress = ingress.entries;
    if (spec.egressInlineEntries != 0) inlineTables.egress = egress.entries;
    ObjectShape shape{exact_ ? endpoint.identity : 0, codegen::emitEndpointC(spec),
                      inlineTables.ingress, inlineTables.egress};
    for (auto it = loaded_.begin(); it != loaded_.end(); ++it)
      if (it->first == shape) {
        loaded_.splice(loaded_.begin(), loaded_, it); // most recently used first
        return &loaded_.front().second;
      }
    auto object = compiled_.find(shape.source);
    if (object == compiled_.end()) {
      if (!workDir_) {
        auto created = testing::TempDir::create("polc-difftest");
        if (!created) return Error{created.error()};
        workDir_.emplace(std::move(*created));
      }
      auto built =
          testing::buildEndpointObject(spec, workDir_->path() / std::to_string(compiled_.size()));
      if (!built) return Error{built.error()};
      ++stats.objects;
      object = compiled_.emplace(shape.source, *built).first;
    }
    // Every loaded object holds its own maps (conntrack: tens of MB): only
    // the most recently used stay loaded.
    auto harness = testing::BpfHarness::load(object->second, spec.identity, inlineTables);
    if (!harness) return Error{harness.error()};
    if (loaded_.size() >= kMaxLoaded) loaded_.pop_back();
    loaded_.emplace_front(std::move(shape), std::move(*harness));
    return &loaded_.front().second;
  }

private:
  static constexpr size_t kMaxLoaded = 16;
  bool exact_;
  std::optional<testing::TempDir> workDir_;
  std::map<std::string, std::filesystem::path> compiled_; // by C text
  std::list<std::pair<ObjectShape, testing::BpfHarness>> loaded_;
};

// Conntrack must not decide a verdict: every packet is judged as the first
// of its flow. After each packet its own entry (if the program opened one)
// is deleted; walking the whole map instead costs a scan of every hash
// bucket, so that is done once per endpoint, to prove the map empty.
// polc_lb_nat is keyed the same way (a translated flow's two entries: the
// packet to the vip and the packet to its backend).
Status forgetPacket(const testing::BpfHarness& harness, const TestPacket& packet,
                    const std::string& map = "polc_ct") {
  auto fd = harness.mapFd(map);
  if (!fd) return Error{fd.error()};
  // The tuple as polc_ct_forward_key() builds it for this packet.
  polc_ct_key key{};
  const size_t addressBytes = packet.source.family == 4 ? 4 : 16;
  std::memcpy(key.saddr, packet.source.bytes.data(), addressBytes);
  std::memcpy(key.daddr, packet.destination.bytes.data(), addressBytes);
  key.protocol = packet.protocol;
  key.family = packet.source.family == 4 ? POLC_FAMILY_IPV4 : POLC_FAMILY_IPV6;
  key.direction = packet.direction == ast::Direction::Egress ? POLC_CT_EGRESS : POLC_CT_INGRESS;
  if (packet.hasPorts()) {
    key.sport = htons(packet.sourcePort);
    key.dport = htons(packet.destinationPort);
  } else if (packet.isOwnIcmp()) {
    key.sport = htons(packet.icmpIdentifier); // only echo requests open entries
  }
  if (bpf_map_delete_elem(*fd, &key) != 0 && errno != ENOENT)
    return Error{map + " delete: " + std::strerror(errno)};
  return okStatus();
}

// `services`: polc_lb_nat must be empty too (a flow that kept its
// translation would keep its backend, whatever the Maglev table says).
Status expectEmptyConntrack(const testing::BpfHarness& harness, bool services) {
  auto size = harness.conntrackSize();
  if (!size) return Error{size.error()};
  if (*size != 0)
    return Error{"polc_ct holds " + std::to_string(*size) +
                 " entries after its packets' own were deleted: difftest's conntrack key is "
                 "wrong, and verdicts may have been decided by conntrack"};
  if (!services) return okStatus();
  auto fd = harness.mapFd("polc_lb_nat");
  if (!fd) return Error{fd.error()};
  polc_ct_key key{};
  if (bpf_map_get_next_key(*fd, nullptr, &key) == 0)
    return Error{"polc_lb_nat holds entries after its flows' own were deleted: difftest's key "
                 "is wrong, and a flow may have kept an earlier flow's backend"};
  return okStatus();
}

// A packet to a frontend, as polc_service_translate() sees it: TCP and UDP
// or an echo request sent by the endpoint, the first of its flow
// (conntrack is emptied after every packet, so there is no earlier
// translation to keep). An echo is hashed on its identifier and keeps it.
struct Translation {
  const services::Frontend* frontend = nullptr;
  const services::Backend* backend = nullptr; // nullptr: refused
  TestPacket toBackend;                       // the packet as it should leave
};

std::optional<Translation> translationOf(const services::ServiceTable& table, bool translates,
                                         const TestPacket& packet) {
  const bool echo = packet.isOwnIcmp() && packet.opensConnection();
  if (!translates || packet.direction != ast::Direction::Egress ||
      (packet.protocol != IPPROTO_TCP && packet.protocol != IPPROTO_UDP && !echo))
    return std::nullopt;
  const auto* frontend = table.find(packet.destination, packet.protocol, packet.destinationPort);
  if (!frontend) return std::nullopt;
  Translation translation{frontend, nullptr, packet};
  translation.backend = services::pickBackend(
      *frontend,
      services::flowTo(*frontend, packet.source, echo ? packet.icmpIdentifier : packet.sourcePort));
  if (translation.backend) {
    translation.toBackend.destination = translation.backend->address;
    translation.toBackend.destinationPort = translation.backend->port;
  }
  return translation;
}

std::string translationText(const Translation& translation) {
  const auto& frontend = *translation.frontend;
  std::string text = "service " + frontend.service + " " + frontend.text() + ", " +
                     std::to_string(frontend.backends.size()) + " backends: ";
  if (!translation.backend) return text + "none with a weight, refused";
  const auto& backend = *translation.backend;
  return text + "the flow hash picks " + backend.key() +
         (backend.endpoint.empty() ? "" : " (" + backend.endpoint + ")");
}

// Is `sent` the packet `expected` (built whole, checksums computed) but for
// checksums that may differ in form only (0x0000 and 0xffff are one value
// to ones' complement)? Both checksums must be right; those of a frame
// with an IPv6 extension header are not checked (PacketBuilder computes
// none there).
std::string rewriteProblem(const std::vector<uint8_t>& sent, const std::vector<uint8_t>& expected) {
  if (sent.size() != expected.size())
    return std::to_string(sent.size()) + " bytes, not " + std::to_string(expected.size());
  const bool v4 = sent.size() > 14 && (sent[14] >> 4) == 4;
  const bool extension = !v4 && sent.size() > 20 && sent[20] == 0; // hop-by-hop
  if (!extension)
    if (auto problems = testing::checksumProblems(sent); !problems.empty())
      return "wrong checksum (" + problems + ")";
  // Where the checksums are: the IPv4 header's, and the L4 one.
  const size_t l4 = 14 + (v4 ? size_t(sent[14] & 0x0f) * 4
                             : 40 + (extension ? (size_t(sent[14 + 41]) + 1) * 8 : 0));
  const uint8_t protocol = v4 ? sent[14 + 9] : sent[extension ? 14 + 40 : 14 + 6];
  std::set<size_t> checksum = {l4 + (protocol == IPPROTO_TCP   ? 16u
                                     : protocol == IPPROTO_UDP ? 6u
                                                               : 2u)};
  if (v4) checksum.insert(14 + 10);
  for (size_t at = 0; at < sent.size(); ++at) {
    if (checksum.contains(at) || checksum.contains(at - 1) || sent[at] == expected[at]) continue;
    return "byte " + std::to_string(at) + " is " + std::to_string(sent[at]) + ", not " +
           std::to_string(expected[at]);
  }
  return "";
}

// Empties one of the harness's maps (its keys are `Key`s). The harness's
// maps outlive a case: conntrack is cleared between endpoints, and so are
// the counters, since every test run comes in on one ifindex.
template <class Key> Status clearMap(const testing::BpfHarness& harness, const std::string& name) {
  auto fd = harness.mapFd(name);
  if (!fd) return Error{fd.error()};
  Key key{};
  while (bpf_map_get_next_key(*fd, nullptr, &key) == 0)
    if (bpf_map_delete_elem(*fd, &key) != 0)
      return Error{name + " delete: " + std::strerror(errno)};
  if (errno != ENOENT) return Error{name + " iteration: " + std::strerror(errno)};
  return okStatus();
}

// `services`: the program translates, and has polc_lb_nat.
Status clearConntrack(const testing::BpfHarness& harness, bool services) {
  if (auto cleared = clearMap<polc_ct_key>(harness, "polc_ct"); !cleared || !services)
    return cleared;
  return clearMap<polc_ct_key>(harness, "polc_lb_nat");
}

// The counters summed by what the evaluator can tell apart.
struct CounterTotals {
  uint64_t packets = 0, denied = 0, deniedByRule = 0, defaultDenied = 0, allowedByRule = 0;
  uint64_t audited = 0, auditedByRule = 0, auditedDefault = 0;
  CounterTotals operator-(const CounterTotals& o) const {
    return {packets - o.packets,
            denied - o.denied,
            deniedByRule - o.deniedByRule,
            defaultDenied - o.defaultDenied,
            allowedByRule - o.allowedByRule,
            audited - o.audited,
            auditedByRule - o.auditedByRule,
            auditedDefault - o.auditedDefault};
  }
};

Expected<CounterTotals> counterTotals(const testing::BpfHarness& harness) {
  auto read = harness.counters();
  if (!read) return Error{read.error()};
  CounterTotals totals;
  for (const auto& c : read->counters) {
    totals.packets += c.packets;
    const bool denied = c.verdict == POLC_EVENT_VERDICT_DENIED;
    const bool audited = c.verdict == POLC_EVENT_VERDICT_AUDIT;
    if (denied) totals.denied += c.packets;
    if (audited) totals.audited += c.packets;
    if (c.reason == POLC_REASON_RULE && c.ruleId != POLC_CT_RULE_NONE)
      (denied    ? totals.deniedByRule
       : audited ? totals.auditedByRule
                 : totals.allowedByRule) += c.packets;
    if (c.reason == POLC_REASON_DEFAULT_DENY)
      (audited ? totals.auditedDefault : totals.defaultDenied) += c.packets;
  }
  return totals;
}

// A packet is counted once (polc_counters.h), by the kind of decision the evaluator
// made (a packet an open program passes unparsed is not counted).
std::string countingMismatch(const CounterTotals& delta, const evaluator::Judgement& judgement,
                             int verdict) {
  using evaluator::Decision;
  if (delta.packets == 0 && verdict == TC_ACT_OK &&
      judgement.decision == Decision::AllowedNotIsolated)
    return "";
  if (delta.packets != 1) return "counted " + std::to_string(delta.packets) + " times";
  if (delta.denied != (verdict == TC_ACT_SHOT ? 1u : 0u) ||
      delta.audited != (judgement.audited() ? 1u : 0u))
    return "counted with another verdict";
  switch (judgement.decision) {
  case Decision::DeniedByRule:
    return delta.deniedByRule == 1 ? "" : "not counted as denied by a rule";
  case Decision::DeniedIsolated:
    return delta.defaultDenied == 1 ? "" : "not counted as a default deny";
  case Decision::AllowedByRule:
    return delta.allowedByRule == 1 ? "" : "not counted as allowed by a rule";
  case Decision::AuditedByRule:
    return delta.auditedByRule == 1 ? "" : "not counted as audited by a rule";
  case Decision::AuditedIsolated:
    return delta.auditedDefault == 1 ? "" : "not counted as an audited default deny";
  case Decision::AllowedNotIsolated:
    break;
  }
  return "";
}

// A refused flow is counted once, as a drop (reason no-backend).
std::string refusalCountingMismatch(const CounterTotals& delta) {
  if (delta.packets != 1) return "refusal counted " + std::to_string(delta.packets) + " times";
  return delta.denied == 1 ? "" : "refusal not counted as a drop";
}

// What the loaded ipcache map says about an address (a miss is world).
Expected<uint32_t> ipcacheIdentity(const testing::BpfHarness& harness, const IpPrefix& address) {
  auto fd = harness.mapFd("polc_ipcache");
  if (!fd) return Error{fd.error()};
  auto lengthsFd = harness.mapFd("polc_ipcache_lengths");
  if (!lengthsFd) return Error{lengthsFd.error()};
  return maps::lookupIpcache(maps::kernelMaps(), *fd, *lengthsFd,
                             address.family == 4 ? POLC_FAMILY_IPV4 : POLC_FAMILY_IPV6,
                             address.bytes.data());
}

// Fills the harness's maps for one endpoint with the loader's own
// encoding and sync (polc/maps/map_backend.h); the service maps too where
// the program translates (`services`).
Status loadEndpointMaps(const testing::BpfHarness& harness, const artifacts::Ipcache& ipcache,
                        const artifacts::PolicyTable& ingress, const artifacts::PolicyTable& egress,
                        const maps::ServiceMapContents* services) {
  auto& kernel = maps::kernelMaps();
  auto ipcacheEntries = maps::toIpcacheMapEntries(ipcache);
  if (!ipcacheEntries) return Error{ipcacheEntries.error()};
  auto fd = harness.mapFd("polc_ipcache");
  if (!fd) return Error{fd.error()};
  auto lengthsFd = harness.mapFd("polc_ipcache_lengths");
  if (!lengthsFd) return Error{lengthsFd.error()};
  if (auto synced = maps::syncIpcache(kernel, *fd, *lengthsFd, *ipcacheEntries); !synced)
    return Error{synced.error()};
  for (const auto* table : {&ingress, &egress}) {
    const char* name = table == &ingress ? "polc_policy_in" : "polc_policy_eg";
    auto mapFd = harness.mapFd(name);
    if (!mapFd) return Error{mapFd.error()};
    if (auto synced = maps::syncMap(kernel, *mapFd, name, maps::toPolicyMapEntries(*table));
        !synced)
      return Error{synced.error()};
  }
  if (services)
    for (auto [name, contents, keySize, valueSize] :
         {std::tuple{"polc_services", &services->services, sizeof(polc_service_key),
                     sizeof(polc_service_value)},
          {"polc_maglev", &services->maglev, sizeof(uint32_t), sizeof(polc_maglev_table)},
          {"polc_backends", &services->backends, sizeof(uint32_t), sizeof(polc_backend)}}) {
      auto mapFd = harness.mapFd(name);
      if (!mapFd) return Error{mapFd.error()};
      if (auto synced = maps::syncMap(kernel, *mapFd, name, keySize, valueSize,
                                      maps::EntryBytes(contents->begin(), contents->end()));
          !synced)
        return Error{synced.error()};
    }
  // As polc load does: a flow judged under the previous tables is judged again.
  return harness.bumpPolicyEpoch();
}

std::string decisionText(evaluator::Decision decision) {
  switch (decision) {
  case evaluator::Decision::AllowedNotIsolated:
    return "allowed (not isolated, no deny matches)";
  case evaluator::Decision::AllowedByRule:
    return "allowed by rule";
  case evaluator::Decision::DeniedByRule:
    return "denied by rule";
  case evaluator::Decision::DeniedIsolated:
    return "denied (isolated, no allow matches)";
  case evaluator::Decision::AuditedByRule:
    return "audited by rule (passes)";
  case evaluator::Decision::AuditedIsolated:
    return "audited (isolated by audit policies, no allow matches; passes)";
  }
  return "?";
}

std::string verdictText(int tcAction) {
  if (tcAction == TC_ACT_OK) return "TC_ACT_OK (pass)";
  if (tcAction == TC_ACT_SHOT) return "TC_ACT_SHOT (drop)";
  return "tc action " + std::to_string(tcAction) + " (neither pass nor drop)";
}

std::string tableText(const artifacts::PolicyTable& table, ast::Direction direction) {
  std::ostringstream out;
  out << "  " << ast::toString(direction) << " table ("
      << (table.isolated ? "isolated" : "not isolated") << "), " << table.entries.size()
      << " entries:\n";
  for (const auto& entry : table.entries)
    out << "    peer " << entry.identity << " proto " << int(entry.protocol) << " port "
        << entry.port << "/" << int(entry.portPrefixBits) << " -> "
        << artifacts::toString(entry.verdict) << " rule " << entry.ruleId << "\n";
  return out.str();
}

std::string peerKind(const ir::Program& program, const evaluator::Resolved& resolved) {
  if (resolved.endpoint) return "endpoint";
  const auto* identity = program.findIdentity(resolved.identity);
  if (!identity) return "unknown";
  switch (identity->kind) {
  case ir::Identity::Kind::Reserved:
    return identity->name;
  case ir::Identity::Kind::Cidr:
    return "cidr";
  case ir::Identity::Kind::ServiceAddress:
    return "service";
  case ir::Identity::Kind::Endpoint:
    return "endpoint";
  }
  return "unknown";
}

struct Mismatch {
  std::string what; // "verdict" or "ipcache"
  const TestPacket* packet = nullptr;
  const TestPacket* judged = nullptr; // the packet to the backend, for a translated flow
  std::string translation;            // translationText
  int bpfVerdict = 0;
  uint32_t expectedIdentity = 0;
  uint32_t ipcacheIdentity = 0;
  evaluator::Judgement judgement;
  std::string reply; // for a conntrack mismatch: the reply packet
  int replyVerdict = 0;
};

void reportMismatch(const Options& options, const GeneratedCase& generated,
                    const ir::Program& program, const Mismatch& mismatch,
                    const artifacts::PolicyTable& table) {
  const auto& packet = *mismatch.packet;
  const auto& endpoint = *packet.endpoint;
  std::ostringstream out;
  out << "\n==== difftest MISMATCH (" << mismatch.what << ") for seed " << generated.seed
      << " ====\n";
  out << "packet:   " << packet.describe() << "\n";
  out << "endpoint: " << endpoint.name << " on " << endpoint.node << ", identity "
      << endpoint.identity << ", " << ast::toString(packet.direction) << " "
      << (endpoint.policy(packet.direction).isolated ? "isolated" : "not isolated") << "\n";
  // A translated flow is judged on the packet to its backend.
  const auto& judged = mismatch.judged ? *mismatch.judged : packet;
  if (!mismatch.translation.empty()) out << "service:  " << mismatch.translation << "\n";
  out << "peer:     " << judged.peer().addressText() << " -> evaluator identity "
      << mismatch.expectedIdentity << " (" << ir::identityText(program, mismatch.expectedIdentity)
      << "), ipcache map identity " << mismatch.ipcacheIdentity << " ("
      << ir::identityText(program, mismatch.ipcacheIdentity) << ")\n";
  out << "l4 value: protocol " << int(judged.protocol) << " value " << judged.l4Value() << "\n";
  out << "BPF:       " << verdictText(mismatch.bpfVerdict) << "\n";
  if (!mismatch.reply.empty())
    out << "reply:     " << mismatch.reply
        << "\nBPF on the reply: " << verdictText(mismatch.replyVerdict) << "\n";
  out << "evaluator: " << (mismatch.judgement.allowed() ? "allow" : "deny") << ", "
      << decisionText(mismatch.judgement.decision) << "\n";
  // Every rule of that side that matches, with its place in the policy.
  const auto& policy = endpoint.policy(packet.direction);
  out << "matching rules of " << endpoint.name << "'s " << ast::toString(packet.direction) << ":\n";
  bool any = false;
  for (const auto& applied : policy.rules) {
    if (!evaluator::matches(applied, mismatch.expectedIdentity, judged.protocol, judged.l4Value()))
      continue;
    const auto& rule = program.rules.at(applied.rule);
    out << "  rule " << rule.id << " " << rule.location.str() << ": " << rule.text << "\n";
    any = true;
  }
  if (!any) out << "  (none)\n";
  out << tableText(table, packet.direction);
  out << "---- policy (difftest.pol) ----\n" << generated.policy;
  out << "---- topology (difftest.yaml) ----\n" << generated.topology;
  out << "---- reproduce ----\n"
      << "difftest --seed " << generated.seed << " --policies 1 --packets-per-policy "
      << options.packetsPerPolicy << (options.exactObjects ? " --exact-objects" : "") << "\n";
  std::cout << out.str() << std::flush;
}

// Do two programs mean the same (everything but source locations)?
bool sameMeaning(const ir::Program& a, const ir::Program& b) {
  auto sameIdentities = std::equal(a.identities.begin(), a.identities.end(), b.identities.begin(),
                                   b.identities.end(), [](const auto& x, const auto& y) {
                                     return std::tie(x.id, x.kind, x.labels, x.prefix, x.name) ==
                                            std::tie(y.id, y.kind, y.labels, y.prefix, y.name);
                                   });
  auto sameRules = std::equal(a.rules.begin(), a.rules.end(), b.rules.begin(), b.rules.end(),
                              [](const auto& x, const auto& y) {
                                return std::tie(x.id, x.policy, x.verdict, x.direction, x.text) ==
                                       std::tie(y.id, y.policy, y.verdict, y.direction, y.text);
                              });
  auto samePolicy = [](const ir::DirectionPolicy& x, const ir::DirectionPolicy& y) {
    return x.isolated == y.isolated && std::equal(x.rules.begin(), x.rules.end(), y.rules.begin(),
                                                  y.rules.end(), [](const auto& r, const auto& q) {
                                                    return std::tie(r.rule, r.peers, r.ports) ==
                                                           std::tie(q.rule, q.peers, q.ports);
                                                  });
  };
  auto sameEndpoints = std::equal(a.endpoints.begin(), a.endpoints.end(), b.endpoints.begin(),
                                  b.endpoints.end(), [&](const auto& x, const auto& y) {
                                    return x.name == y.name && x.identity == y.identity &&
                                           x.addresses == y.addresses &&
                                           samePolicy(x.ingress, y.ingress) &&
                                           samePolicy(x.egress, y.egress);
                                  });
  return sameIdentities && sameRules && sameEndpoints;
}

// `polc fmt` on the generated text must be idempotent and keep its meaning.
Status checkFormatter(const GeneratedCase& generated, const topology::Topology& topology,
                      const ir::Program& program) {
  Diagnostics diagnostics;
  auto formatted = frontend::formatText("difftest.pol", generated.policy, diagnostics);
  if (!formatted) return Error{"polc fmt refused the policy:\n" + diagnostics.render()};
  auto again = frontend::formatText("difftest.pol", *formatted, diagnostics);
  if (!again || *again != *formatted)
    return Error{"polc fmt is not idempotent:\n" +
                 frontend::unifiedDiff("difftest.pol", *formatted, again.value_or(""))};
  auto file = frontend::parseText("difftest.pol", *formatted, diagnostics);
  std::optional<ir::Program> reparsed;
  if (file) reparsed = pipeline::analyze(*file, topology, diagnostics);
  if (!reparsed) return Error{"the formatted policy is rejected:\n" + diagnostics.render()};
  if (!sameMeaning(program, *reparsed))
    return Error{"the formatted policy means something else:\n" +
                 frontend::unifiedDiff("difftest.pol", generated.policy, *formatted)};
  return okStatus();
}

// Packet sequences across a reload: the fast path of established flows and
// its revocation. The endpoint's allowed connection-opening packets are
// sent twice (the second passes on its conntrack entry). Then the endpoint
// loses about half of its rules, and its maps get the new tables the way
// polc load applies a table-only change (the policy epoch bumped); each
// packet is sent twice again: the first must meet the new tables (dropped at
// once if they forbid it), the second agree with it. A change that would
// replace the endpoint's program (its tables' shape changed) is not a
// table-only reload and is skipped.
// An allowed connection-opening packet, sent again around a reload: to a
// vip, the packet to its backend is what policy judges and what must leave.
struct OpenFlow {
  TestPacket sent;
  TestPacket judged;       // `sent` itself when it was not translated
  std::string translation; // translationText; empty when not to a vip
};

Expected<bool> checkReload(const Options& options, const GeneratedCase& generated,
                           const ir::Program& program, size_t endpointIndex,
                           const testing::BpfHarness& harness, const artifacts::Ipcache& ipcache,
                           const artifacts::PolicyTable& ingress,
                           const artifacts::PolicyTable& egress,
                           const maps::ServiceMapContents* services,
                           const std::vector<OpenFlow>& flows, Stats& stats) {
  if (flows.empty()) return true;
  const auto& endpoint = program.endpoints[endpointIndex];
  auto programName = [](const TestPacket& packet) {
    return packet.direction == ast::Direction::Egress ? "polc_from_ep" : "polc_to_ep";
  };
  auto mismatch = [&](const ir::Program& judged, const OpenFlow& flow, int verdict,
                      std::string what, const artifacts::PolicyTable& table) {
    Mismatch found;
    found.what = std::move(what);
    found.packet = &flow.sent;
    found.judged = &flow.judged;
    found.translation = flow.translation;
    found.bpfVerdict = verdict;
    auto resolved = evaluator::resolveAddress(judged, endpoint.node, flow.judged.peer());
    found.expectedIdentity = found.ipcacheIdentity = resolved.identity;
    found.judgement =
        evaluator::judge(judged, judged.endpoints[endpointIndex], flow.judged.direction,
                         resolved.identity, flow.judged.protocol, flow.judged.l4Value());
    reportMismatch(options, generated, judged, found, table);
    return false;
  };
  // Sends a flow's packet; "" when the program returns `expected` and, for
  // a flow to a vip let through, sends it to the flow's backend.
  auto send = [&](const OpenFlow& flow, int expected) -> Expected<std::pair<int, std::string>> {
    auto output = harness.runAndRead(programName(flow.sent), flow.sent.frame());
    if (!output) return Error{output.error()};
    std::string wrong;
    if (output->verdict != expected)
      wrong = "verdict";
    else if (!flow.translation.empty() && output->verdict == TC_ACT_OK)
      if (auto problem = rewriteProblem(output->frame, flow.judged.frame()); !problem.empty())
        wrong = "not sent to its backend: " + problem;
    return std::pair{output->verdict, wrong};
  };
  auto tableOf = [&](const OpenFlow& flow, const artifacts::PolicyTable& in,
                     const artifacts::PolicyTable& out) -> const artifacts::PolicyTable& {
    return flow.judged.direction == ast::Direction::Ingress ? in : out;
  };
  for (const auto& flow : flows)
    for (int again = 0; again < 2; ++again) {
      auto sent = send(flow, TC_ACT_OK);
      if (!sent) return Error{sent.error()};
      stats.established += again;
      if (!sent->second.empty())
        return mismatch(program, flow, sent->first,
                        std::string(again ? "established flow: " : "allowed packet sent again: ") +
                            sent->second,
                        tableOf(flow, ingress, egress));
    }

  ir::Program reloaded = program;
  auto& changed = reloaded.endpoints[endpointIndex];
  // The rules that let a flow through go with probability 1/2 (a flow that
  // loses its rule in an isolated direction is stopped), the others with
  // 1/4 (each removal may change the tables' shape, which is skipped).
  std::set<uint32_t> deciding;
  for (const auto& flow : flows) {
    auto resolved = evaluator::resolveAddress(program, endpoint.node, flow.judged.peer());
    deciding.insert(evaluator::judge(program, endpoint, flow.judged.direction, resolved.identity,
                                     flow.judged.protocol, flow.judged.l4Value())
                        .rule);
  }
  std::mt19937_64 random(generated.seed ^ (endpointIndex * 0x2545f4914f6cdd1dull));
  std::vector<std::string> removed;
  for (auto direction : {ast::Direction::Ingress, ast::Direction::Egress}) {
    auto& rules = changed.policy(direction).rules;
    std::erase_if(rules, [&](const ir::AppliedRule& applied) {
      if (random() % 4 >= (deciding.contains(applied.rule) ? 2u : 1u)) return false;
      removed.push_back(std::to_string(applied.rule));
      return true;
    });
  }
  auto newIngress = passes::buildPolicyTable(reloaded, changed, ast::Direction::Ingress);
  auto newEgress = passes::buildPolicyTable(reloaded, changed, ast::Direction::Egress);
  const auto before = ObjectCache::specFor(endpoint, ingress, egress, ipcache, services != nullptr);
  const auto after =
      ObjectCache::specFor(changed, newIngress, newEgress, ipcache, services != nullptr);
  if (before.ingressInlineEntries != 0 || before.egressInlineEntries != 0 ||
      codegen::emitEndpointC(before) != codegen::emitEndpointC(after)) {
    ++stats.reloadsNeedingNewPrograms;
    return true;
  }
  // Half of the reloads with services also leave every frontend refusing
  // (no backend, no table): a flow to a vip keeps its backend, whatever the
  // tables say (polc_lb_nat), until it ends. The next endpoint's maps are
  // loaded whole again.
  std::optional<maps::ServiceMapContents> refusing;
  if (services && random() % 2 == 0) {
    refusing.emplace();
    for (const auto& [key, bytes] : services->services) {
      polc_service_value value{};
      std::memcpy(&value, bytes.data(), sizeof value);
      value.backend_count = 0;
      refusing->services.emplace(key, maps::toBytes(value));
    }
    ++stats.refusingReloads;
  }
  if (auto status = loadEndpointMaps(harness, ipcache, newIngress, newEgress,
                                     refusing ? &*refusing : services);
      !status)
    return Error{status.error()};
  ++stats.reloads;
  std::string rulesRemoved = removed.empty() ? "no rule" : "rules";
  for (const auto& id : removed) rulesRemoved += " " + id;
  if (refusing) rulesRemoved += ", every frontend left without backends";
  for (const auto& flow : flows) {
    auto resolved = evaluator::resolveAddress(reloaded, endpoint.node, flow.judged.peer());
    auto judgement = evaluator::judge(reloaded, changed, flow.judged.direction, resolved.identity,
                                      flow.judged.protocol, flow.judged.l4Value());
    const int expected = judgement.allowed() ? TC_ACT_OK : TC_ACT_SHOT;
    for (int again = 0; again < 2; ++again) {
      auto sent = send(flow, expected);
      if (!sent) return Error{sent.error()};
      if (!sent->second.empty())
        return mismatch(reloaded, flow, sent->first,
                        std::string(again ? "second" : "first") +
                            " packet of an established flow after a reload that removed " +
                            rulesRemoved + ": " + sent->second,
                        tableOf(flow, newIngress, newEgress));
    }
    stats.revoked += expected == TC_ACT_SHOT;
    stats.translatedAcrossReloads += !flow.translation.empty() && expected == TC_ACT_OK;
  }
  return true;
}

// One generated case end to end. Returns false on a mismatch; errors of the
// machinery (not of the compared sides) come back as Error.
Expected<bool> runCase(const Options& options, uint64_t seed, ObjectCache& objects, Stats& stats) {
  GeneratedCase generated = generateCase(seed);
  Diagnostics diagnostics;
  auto file = frontend::parseText("difftest.pol", generated.policy, diagnostics);
  auto topology = topology::loadText("difftest.yaml", generated.topology, diagnostics);
  std::optional<ir::Program> program;
  if (file && topology) program = pipeline::analyze(*file, *topology, diagnostics);
  if (!program) {
    ++stats.rejected;
    if (stats.firstRejection.empty() || options.verbose) {
      std::ostringstream out;
      out << "seed " << seed << " rejected:\n";
      out << diagnostics.render();
      out << "---- policy ----\n"
          << generated.policy << "---- topology ----\n"
          << generated.topology;
      if (stats.firstRejection.empty()) stats.firstRejection = out.str();
      if (options.verbose) std::cout << out.str();
    }
    return true;
  }
  ++stats.policies;
  if (auto status = checkFormatter(generated, *topology, *program); !status) {
    std::cout << "\n==== difftest MISMATCH (formatter) for seed " << seed << " ====\n"
              << status.error() << "---- policy (difftest.pol) ----\n"
              << generated.policy << "---- topology (difftest.yaml) ----\n"
              << generated.topology << "---- reproduce ----\ndifftest --seed " << seed
              << " --policies 1\n";
    return false;
  }
  if (options.verbose) std::cout << "seed " << seed << "\n" << generated.policy;

  // The frontends, and the service maps as the loader fills them from
  // the build's services.json.
  const auto serviceTable = services::buildServiceTable(*topology);
  std::optional<maps::ServiceMapContents> serviceMaps;
  if (topology->hasFrontends()) {
    auto encoded =
        maps::toServiceMapContents(nlohmann::json::parse(services::toJsonText(serviceTable)));
    if (!encoded) return Error{"services.json: " + encoded.error()};
    serviceMaps = std::move(*encoded);
  }
  const maps::ServiceMapContents* serviceEntries = serviceMaps ? &*serviceMaps : nullptr;

  std::map<std::string, artifacts::Ipcache> ipcaches; // per node
  PacketGenerator packets(*program, serviceTable, seed ^ 0x9e3779b97f4a7c15ull);
  const size_t endpointCount = program->endpoints.size();
  for (size_t e = 0; e < endpointCount; ++e) {
    const auto& endpoint = program->endpoints[e];
    auto ingress = passes::buildPolicyTable(*program, endpoint, ast::Direction::Ingress);
    auto egress = passes::buildPolicyTable(*program, endpoint, ast::Direction::Egress);
    auto [slot, isNew] = ipcaches.try_emplace(endpoint.node);
    if (isNew) slot->second = passes::buildIpcache(*program, endpoint.node);
    auto harness = objects.forEndpoint(endpoint, ingress, egress, slot->second,
                                       serviceMaps.has_value(), stats);
    if (!harness) return Error{harness.error()};
    if (auto status = clearConntrack(**harness, serviceMaps.has_value()); !status)
      return Error{status.error()};
    if (auto status = clearMap<polc_counter_key>(**harness, "polc_counters"); !status)
      return Error{status.error()};
    if (auto status = loadEndpointMaps(**harness, slot->second, ingress, egress, serviceEntries);
        !status)
      return Error{status.error()};
    CounterTotals counted;
    // Reporting never changes a verdict: each endpoint runs at a level of
    // its own, rate limit lifted, so every event is written (or lost).
    static constexpr maps::MonitorLevel kLevels[] = {
        maps::MonitorLevel::Off, maps::MonitorLevel::Drops, maps::MonitorLevel::Flows,
        maps::MonitorLevel::All};
    if (auto status = (*harness)->setMonitorLevel(kLevels[(seed + e) % 4]); !status)
      return Error{status.error()};
    if (auto status = (*harness)->setEventRate(10'000'000, 10'000'000); !status)
      return Error{status.error()};

    // Allowed connection-opening packets, for checkReload.
    constexpr size_t kFlowsPerEndpoint = 16;
    std::vector<OpenFlow> flows;

    // The packets of the case, spread over its endpoints.
    int count = options.packetsPerPolicy / int(endpointCount) +
                (e < size_t(options.packetsPerPolicy) % endpointCount ? 1 : 0);
    for (int i = 0; i < count; ++i) {
      const TestPacket packet = packets.next(endpoint);
      auto frame = packet.frame();
      const char* programName =
          packet.direction == ast::Direction::Egress ? "polc_from_ep" : "polc_to_ep";
      auto output = (*harness)->runAndRead(programName, frame);
      if (!output) return Error{output.error()};
      const int verdict = output->verdict;
      ++stats.packets;

      // A new flow to a frontend is judged as the packet to its backend;
      // one without a backend is refused (polc_refuse.h: redirected back
      // as a reset or an unreachable; dropped after an extension header).
      const auto translation = translationOf(serviceTable, serviceMaps.has_value(), packet);
      const bool refused = translation && !translation->backend;
      const TestPacket& judged = translation && !refused ? translation->toBackend : packet;
      auto resolved = evaluator::resolveAddress(*program, endpoint.node, judged.peer());
      auto inMap = ipcacheIdentity(**harness, judged.peer());
      if (!inMap) return Error{inMap.error()};
      auto judgement = evaluator::judge(*program, endpoint, judged.direction, resolved.identity,
                                        judged.protocol, judged.l4Value());
      int expected = judgement.allowed() ? TC_ACT_OK : TC_ACT_SHOT;
      if (refused) {
        expected = packet.hopByHop ? TC_ACT_SHOT : TC_ACT_REDIRECT;
        ++stats.refused;
      } else {
        if (judgement.allowed()) ++stats.allowed;
        ++stats.decisions[judgement.decision];
        ++stats.peerKinds[peerKind(*program, resolved)];
        stats.translated += translation.has_value();
        stats.translatedEchoes += translation && translation->frontend->isEcho();
      }
      Mismatch mismatch;
      mismatch.packet = &packet;
      mismatch.judged = &judged;
      if (translation) mismatch.translation = translationText(*translation);
      mismatch.bpfVerdict = verdict;
      mismatch.expectedIdentity = resolved.identity;
      mismatch.ipcacheIdentity = *inMap;
      mismatch.judgement = judgement;
      auto totals = counterTotals(**harness);
      if (!totals) return Error{totals.error()};
      const auto counting = refused ? refusalCountingMismatch(*totals - counted)
                                    : countingMismatch(*totals - counted, judgement, verdict);
      if (*inMap != resolved.identity)
        mismatch.what = "ipcache identity";
      else if (verdict != expected)
        mismatch.what = "verdict";
      else if (auto wrong = translation && !refused && verdict == TC_ACT_OK
                                ? rewriteProblem(output->frame, judged.frame())
                                : std::string();
               !wrong.empty())
        mismatch.what = "translation: " + wrong;
      else if (!counting.empty())
        mismatch.what = "counters: " + counting;
      // Rule 5: the reply of a let-through connection passes the other
      // program whatever its policy (a translated flow's from the vip); a
      // dropped packet opens nothing.
      if (mismatch.what.empty() && !refused && judged.opensConnection()) {
        TestPacket reply = judged.reply();
        auto replied = (*harness)->runAndRead(
            reply.direction == ast::Direction::Egress ? "polc_from_ep" : "polc_to_ep",
            reply.frame());
        if (!replied) return Error{replied.error()};
        const int replyVerdict = replied->verdict;
        mismatch.reply = reply.describe();
        mismatch.replyVerdict = replyVerdict;
        if (verdict == TC_ACT_OK && replyVerdict != TC_ACT_OK)
          mismatch.what = "reply of an allowed connection dropped";
        else if (verdict == TC_ACT_OK && translation) {
          if (auto wrong = rewriteProblem(replied->frame, packet.reply().frame()); !wrong.empty())
            mismatch.what = "reply not translated back to the vip: " + wrong;
        }
        if (verdict == TC_ACT_SHOT) {
          auto judgedReply = evaluator::judge(*program, endpoint, reply.direction,
                                              resolved.identity, reply.protocol, reply.l4Value());
          if (replyVerdict != (judgedReply.allowed() ? TC_ACT_OK : TC_ACT_SHOT))
            mismatch.what = "reply of a dropped packet not judged by policy";
        }
        if (auto status = forgetPacket(**harness, reply); !status) return Error{status.error()};
        ++stats.replies;
      }
      if (auto status = forgetPacket(**harness, judged); !status) return Error{status.error()};
      if (translation && !refused)
        for (const TestPacket* sent : {&packet, &judged})
          if (auto status = forgetPacket(**harness, *sent, "polc_lb_nat"); !status)
            return Error{status.error()};
      auto afterReply = counterTotals(**harness);
      if (!afterReply) return Error{afterReply.error()};
      counted = *afterReply;
      if (!mismatch.what.empty()) {
        reportMismatch(options, generated, *program, mismatch,
                       packet.direction == ast::Direction::Ingress ? ingress : egress);
        return false;
      }
      if (verdict == TC_ACT_OK && judged.opensConnection() && flows.size() < kFlowsPerEndpoint)
        flows.push_back({packet, judged, mismatch.translation});
    }
    if (auto status = expectEmptyConntrack(**harness, serviceMaps.has_value()); !status)
      return Error{status.error()};
    auto agreed = checkReload(options, generated, *program, e, **harness, slot->second, ingress,
                              egress, serviceEntries, flows, stats);
    if (!agreed || !*agreed) return agreed;
    if (auto status = clearConntrack(**harness, serviceMaps.has_value()); !status)
      return Error{status.error()};
  }
  return true;
}

int run(const Options& options) {
  if (auto reason = testing::kernelUnavailableReason()) {
    if (testing::kernelRequired()) {
      std::cout << "FAIL: POLC_REQUIRE_KERNEL=1 but " << *reason << "\n";
      return kExitMismatch;
    }
    std::cout << "SKIP: " << *reason << "\n";
    return kExitSkip;
  }
  const uint64_t seed = options.seed ? *options.seed : std::random_device{}() * 65536ull;
  std::cout << "difftest: seed " << seed << ", " << options.policies << " policies, "
            << options.packetsPerPolicy << " packets per policy" << std::endl;
  const auto start = std::chrono::steady_clock::now();
  ObjectCache objects(options.exactObjects);
  Stats stats;
  for (int i = 0; i < options.policies; ++i) {
    auto agreed = runCase(options, seed + uint64_t(i), objects, stats);
    if (!agreed) {
      std::cout << "difftest: error in case seed " << seed + uint64_t(i) << ": " << agreed.error()
                << "\n";
      return kExitMismatch;
    }
    if (!*agreed && ++stats.failures >= options.maxFailures) break;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "difftest: " << stats.policies << " policies compared (" << stats.rejected
            << " rejected by sema), " << stats.packets << " packets (" << stats.allowed
            << " allowed), " << stats.replies << " replies, " << stats.objects
            << " objects compiled, " << stats.failures << " mismatching policies, " << seconds
            << " s\n";
  std::cout << "difftest: " << stats.reloads << " table-only reloads in the middle of flows ("
            << stats.reloadsNeedingNewPrograms << " changes needed new programs: skipped), "
            << stats.established << " packets of established flows, " << stats.revoked
            << " flows stopped by a reload, " << stats.translatedAcrossReloads
            << " flows to a vip kept on their backend (" << stats.refusingReloads
            << " reloads left every frontend without backends)\n";
  std::cout << "difftest: " << stats.translated << " flows to a service translated to a backend ("
            << stats.translatedEchoes << " of them echo requests), " << stats.refused
            << " refused (no backend with a weight)\n";
  std::cout << "difftest: decisions:";
  for (auto [decision, count] : stats.decisions)
    std::cout << " " << decisionText(decision) << " " << count << ";";
  std::cout << "\ndifftest: peers:";
  for (const auto& [kind, count] : stats.peerKinds) std::cout << " " << kind << " " << count;
  std::cout << "\n";
  // Sema rejecting generated input is a generator bug; a few would be
  // tolerable, many would mean the test compares much less than it claims.
  if (stats.rejected * 20 > options.policies) {
    std::cout << "difftest: too many generated inputs rejected; the first:\n"
              << stats.firstRejection;
    return kExitMismatch;
  }
  if (!stats.firstRejection.empty() && options.verbose) std::cout << stats.firstRejection;
  return stats.failures == 0 ? 0 : kExitMismatch;
}

} // namespace
} // namespace polc::difftest

int main(int argc, char** argv) {
  polc::difftest::Options options;
  CLI::App app{"Differential test: compiled BPF programs against the reference evaluator"};
  app.add_option("--seed", options.seed, "first seed (case i uses seed + i); random by default");
  app.add_option("--policies", options.policies, "number of generated policy sets")
      ->check(CLI::PositiveNumber);
  app.add_option("--packets-per-policy", options.packetsPerPolicy,
                 "packets per policy set, spread over its endpoints")
      ->check(CLI::PositiveNumber);
  app.add_flag("--exact-objects", options.exactObjects,
               "compile one object per (identity, isolation) instead of per isolation pair");
  app.add_option("--max-failures", options.maxFailures, "stop after this many mismatching cases")
      ->check(CLI::PositiveNumber);
  app.add_flag("-v,--verbose", options.verbose, "print every policy and every rejection");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return polc::difftest::run(options);
}
