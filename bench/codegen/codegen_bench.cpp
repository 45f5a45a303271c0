// What specialization buys per program: object size, instructions, the
// verifier's work, and the per-packet cost of each policy lookup, measured
// with BPF_PROG_TEST_RUN on the datapath tests' harness. The per-packet
// cost of a lookup is what emitting a tiny rule set inline as code could at
// most save (docs/datapath.md, "Inline rule sets").
//
//   codegen_bench [--repeat N] [--rounds R]
// Prints a Markdown table; exits 77 when the kernel cannot run programs.
#include "bpf_harness.h"
#include "packet_builder.h"

#include <bpf/bpf.h>
#include <linux/pkt_cls.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

using namespace polc;
using namespace polc::testing;

namespace {

constexpr uint32_t kEndpointIdentity = 300, kPeerIdentity = 400;

struct Variant {
  const char* name;
  const char* what;
  codegen::EndpointProgramSpec spec;
  std::vector<PolicyEntry> ingress; // polc_to_ep is measured
  int expected;                     // verdict of the measured packet
};

codegen::EndpointProgramSpec base(bool egressIsolated, bool ingressIsolated) {
  return codegen::EndpointProgramSpec{.endpoint = "bench",
                                      .identity = kEndpointIdentity,
                                      .egressProgram = true,
                                      .ingressProgram = true,
                                      .egressIsolated = egressIsolated,
                                      .ingressIsolated = ingressIsolated};
}

PolicyEntry entry(uint32_t identity, uint16_t port, uint8_t verdict) {
  return PolicyEntry{.identity = identity,
                     .protocol = IPPROTO_TCP,
                     .port = port,
                     .portPrefixBits = 16,
                     .verdict = verdict,
                     .ruleId = 1};
}

// The key prefix length of the entries below (exact ports): what a
// specialized program probes, where the full one probes all 18.
constexpr uint64_t kExactPortPrefix = POLC_POLICY_PREFIX_BIT(POLC_POLICY_PREFIX_FULL);

std::vector<Variant> variants() {
  std::vector<Variant> list;
  auto full = base(false, true);
  list.push_back({"full (before specialization)",
                  "ipcache + 2 policy lookups",
                  full,
                  {entry(kPeerIdentity, 80, POLC_VERDICT_ALLOW)},
                  TC_ACT_OK});
  auto peer = full;
  peer.ingressWildcardLookup = false;
  peer.egressPeerLookup = peer.egressWildcardLookup = false;
  peer.ingressPolicyPrefixes = kExactPortPrefix;
  peer.egressPolicyPrefixes = 0;
  list.push_back({"peer entries only",
                  "ipcache + 1 policy lookup",
                  peer,
                  {entry(kPeerIdentity, 80, POLC_VERDICT_ALLOW)},
                  TC_ACT_OK});
  auto wildcard = peer;
  wildcard.ingressPeerLookup = false;
  wildcard.ingressWildcardLookup = true;
  list.push_back({"wildcard entries only",
                  "1 policy lookup, no ipcache",
                  wildcard,
                  {entry(POLC_IDENTITY_ANY, 80, POLC_VERDICT_ALLOW)},
                  TC_ACT_OK});
  // An open direction: the same path (parse, reply check, track), with and
  // without its lookups, so the difference is the lookups alone.
  auto openFull = base(false, false);
  list.push_back({"open, full",
                  "ipcache + 2 policy lookups",
                  openFull,
                  {entry(kPeerIdentity, 22, POLC_VERDICT_DENY)},
                  TC_ACT_OK});
  auto openTrack = openFull;
  openTrack.ingressPeerLookup = openTrack.ingressWildcardLookup = false;
  openTrack.egressPeerLookup = openTrack.egressWildcardLookup = false;
  openTrack.ingressPolicyPrefixes = openTrack.egressPolicyPrefixes = 0;
  list.push_back({"open, track only", "no lookup", openTrack, {}, TC_ACT_OK});
  auto ipv4 = base(true, true);
  ipv4.egressWildcardLookup = ipv4.ingressWildcardLookup = false;
  ipv4.ingressPolicyPrefixes = ipv4.egressPolicyPrefixes = kExactPortPrefix;
  list.push_back({"both isolated, peer entries",
                  "ipcache + 1 policy lookup",
                  ipv4,
                  {entry(kPeerIdentity, 80, POLC_VERDICT_ALLOW)},
                  TC_ACT_OK});
  ipv4.ipv6 = false;
  list.push_back({"the same without IPv6",
                  "ipcache + 1 policy lookup",
                  ipv4,
                  {entry(kPeerIdentity, 80, POLC_VERDICT_ALLOW)},
                  TC_ACT_OK});
  return list;
}

// Nanoseconds per run of the program on the frame, the median of `rounds`
// BPF_PROG_TEST_RUN calls of `repeat` runs each (the kernel times them).
Expected<double> nanosecondsPerPacket(const BpfHarness& harness, const std::vector<uint8_t>& frame,
                                      unsigned repeat, unsigned rounds) {
  auto fd = harness.programFd("polc_to_ep");
  if (!fd) return Error{fd.error()};
  std::vector<double> samples;
  for (unsigned i = 0; i < rounds; ++i) {
    LIBBPF_OPTS(bpf_test_run_opts, options, .data_in = frame.data(),
                .data_size_in = static_cast<__u32>(frame.size()),
                .repeat = static_cast<int>(repeat));
    if (bpf_prog_test_run_opts(*fd, &options) != 0)
      return Error{std::string("BPF_PROG_TEST_RUN: ") + std::strerror(errno)};
    samples.push_back(double(options.duration));
  }
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

// A tiny table of `count` peer entries (tcp/1000.. exact ports), both ways:
// in the policy map, and compiled in as code.
std::vector<PolicyEntry> tinyTable(unsigned count) {
  std::vector<PolicyEntry> entries;
  for (unsigned i = 0; i < count; ++i)
    entries.push_back(entry(kPeerIdentity, static_cast<uint16_t>(1000 + i), POLC_VERDICT_ALLOW));
  return entries;
}

Expected<BpfHarness> loadTiny(const codegen::EndpointProgramSpec& spec,
                              const std::vector<PolicyEntry>& entries,
                              const std::filesystem::path& dir) {
  auto object = buildEndpointObject(spec, dir);
  if (!object) return Error{object.error()};
  InlineTables inlineTables;
  if (spec.ingressInlineEntries != 0)
    for (const auto& policy : entries) inlineTables.ingress.push_back(tableEntry(policy));
  auto harness = BpfHarness::load(*object, kEndpointIdentity, inlineTables);
  if (!harness) return Error{harness.error()};
  for (const auto& [prefix, identity] :
       {std::pair{"10.0.0.1", kEndpointIdentity}, std::pair{"10.0.0.2", kPeerIdentity}})
    if (auto status = harness->setIdentity(prefix, identity); !status) return Error{status.error()};
  if (spec.ingressInlineEntries == 0)
    for (const auto& policy : entries)
      if (auto status = harness->addPolicy(Direction::Ingress, policy); !status)
        return Error{status.error()};
  return std::move(*harness);
}

// Per table size: the map lookup against the inline compares, on the packet
// that matches the last slot (the most compares) and on one that matches
// none. The two programs alternate round by round, so drift hits both.
int compareInline(unsigned repeat, unsigned rounds) {
  std::cout << "\n| entries | packet | policy map ns/packet | inline ns/packet | inline / map |\n"
               "|---:|---|---:|---:|---:|\n";
  for (unsigned count : {1u, 2u, 4u, 8u, 16u}) {
    auto spec = base(false, true); // as polc build specializes it, table in the map
    spec.ingressWildcardLookup = false;
    spec.egressPeerLookup = spec.egressWildcardLookup = false;
    spec.ingressPolicyPrefixes = kExactPortPrefix;
    spec.egressPolicyPrefixes = 0;
    auto entries = tinyTable(count);
    auto mapDir = TempDir::create("polc-b-codegen");
    auto inlineDir = TempDir::create("polc-b-codegen");
    if (!mapDir || !inlineDir) return std::cerr << "temp dir\n", 1;
    auto inlineSpec = spec;
    inlineSpec.ingressInlineEntries = count;
    auto mapped = loadTiny(spec, entries, mapDir->path());
    auto inlined = loadTiny(inlineSpec, entries, inlineDir->path());
    if (!mapped || !inlined)
      return std::cerr << (mapped ? inlined.error() : mapped.error()) << "\n", 1;
    struct Packet {
      const char* name;
      uint16_t port;
      int expected;
    };
    for (const auto& packet :
         {Packet{"allowed (last entry)", static_cast<uint16_t>(1000 + count - 1), TC_ACT_OK},
          Packet{"denied (no entry)", 9, TC_ACT_SHOT}}) {
      auto frame = PacketBuilder::ipv4("10.0.0.2", "10.0.0.1").tcp(40000, packet.port).build();
      for (const auto* harness : {&*mapped, &*inlined}) {
        auto verdict = harness->run("polc_to_ep", frame);
        if (!verdict || *verdict != packet.expected)
          return std::cerr << count << " entries, " << packet.name << ": unexpected verdict\n", 1;
      }
      std::vector<double> mapSamples, inlineSamples;
      for (unsigned round = 0; round < rounds; ++round) {
        auto mapNs = nanosecondsPerPacket(*mapped, frame, repeat, 1);
        auto inlineNs = nanosecondsPerPacket(*inlined, frame, repeat, 1);
        if (!mapNs || !inlineNs) return std::cerr << "BPF_PROG_TEST_RUN failed\n", 1;
        mapSamples.push_back(*mapNs);
        inlineSamples.push_back(*inlineNs);
      }
      std::sort(mapSamples.begin(), mapSamples.end());
      std::sort(inlineSamples.begin(), inlineSamples.end());
      double mapMedian = mapSamples[rounds / 2], inlineMedian = inlineSamples[rounds / 2];
      char row[160];
      std::snprintf(row, sizeof row, "| %u | %s | %.1f | %.1f | %.2f |\n", count, packet.name,
                    mapMedian, inlineMedian, inlineMedian / mapMedian);
      std::cout << row;
    }
    std::cerr << "codegen bench: inline " << count << " entries done\n";
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  unsigned repeat = 200000, rounds = 7;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string option = argv[i];
    if (option == "--repeat")
      repeat = unsigned(std::atoi(argv[i + 1]));
    else if (option == "--rounds")
      rounds = unsigned(std::atoi(argv[i + 1]));
  }
  if (auto reason = kernelUnavailableReason()) {
    std::cerr << "codegen bench: " << *reason << "\n";
    return 77;
  }
  auto frame = PacketBuilder::ipv4("10.0.0.2", "10.0.0.1").tcp(40000, 80).build();
  std::cout << "| variant | polc_to_ep does | object bytes | insns (to_ep + from_ep) | "
               "verifier insns processed (to_ep + from_ep) | ns/packet (to_ep) |\n"
               "|---|---|---:|---:|---:|---:|\n";
  for (const auto& variant : variants()) {
    auto dir = TempDir::create("polc-b-codegen");
    if (!dir) return std::cerr << dir.error() << "\n", 1;
    auto object = buildEndpointObject(variant.spec, dir->path());
    if (!object) return std::cerr << object.error() << "\n", 1;
    auto harness = BpfHarness::load(*object, kEndpointIdentity);
    if (!harness) return std::cerr << harness.error() << "\n", 1;
    for (const auto& [prefix, identity] :
         {std::pair{"10.0.0.1", kEndpointIdentity}, std::pair{"10.0.0.2", kPeerIdentity}})
      if (auto status = harness->setIdentity(prefix, identity); !status)
        return std::cerr << status.error() << "\n", 1;
    for (const auto& policy : variant.ingress)
      if (auto status = harness->addPolicy(Direction::Ingress, policy); !status)
        return std::cerr << status.error() << "\n", 1;
    auto verdict = harness->run("polc_to_ep", frame);
    if (!verdict || *verdict != variant.expected)
      return std::cerr << variant.name << ": unexpected verdict\n", 1;
    auto to = harness->programInfo("polc_to_ep");
    auto from = harness->programInfo("polc_from_ep");
    if (!to || !from) return std::cerr << "program info\n", 1;
    auto ns = nanosecondsPerPacket(*harness, frame, repeat, rounds);
    if (!ns) return std::cerr << ns.error() << "\n", 1;
    std::cerr << "codegen bench: " << variant.name << " done\n";
    char nsText[32];
    std::snprintf(nsText, sizeof nsText, "%.1f", *ns);
    std::cout << "| " << variant.name << " | " << variant.what << " | "
              << std::filesystem::file_size(*object) << " | "
              << to->translatedInstructions + from->translatedInstructions << " | "
              << to->verifiedInstructions + from->verifiedInstructions << " | " << nsText << " |\n";
  }
  return compareInline(repeat, rounds);
}
