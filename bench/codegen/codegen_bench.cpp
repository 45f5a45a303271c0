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
  list.push_back({"open, track only", "no lookup", openTrack, {}, TC_ACT_OK});
  auto ipv4 = base(true, true);
  ipv4.egressWildcardLookup = ipv4.ingressWildcardLookup = false;
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
                .data_size_in = static_cast<__u32>(frame.size()), .repeat = repeat);
    if (bpf_prog_test_run_opts(*fd, &options) != 0)
      return Error{std::string("BPF_PROG_TEST_RUN: ") + std::strerror(errno)};
    samples.push_back(double(options.duration));
  }
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
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
  return 0;
}
