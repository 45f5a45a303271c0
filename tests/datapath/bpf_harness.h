// Loads an endpoint object with libbpf, fills its maps with the layouts of
// polc_structs.h and runs packets through its programs with
// BPF_PROG_TEST_RUN. Needs root (CAP_BPF, CAP_NET_ADMIN) but no interfaces.
#pragma once

#include "kernel_required.h"

#include "polc/artifacts/tables.h"
#include "polc/codegen/endpoint_program.h"
#include "polc/maps/counter_maps.h"
#include "polc/maps/monitor_maps.h"
#include "polc/support/expected.h"
#include "polc_structs.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct bpf_object;

namespace polc::testing {

// Why kernel-backed tests cannot run in this process, or nullopt if they can.
std::optional<std::string> kernelUnavailableReason();

// A fresh directory under the system temp dir, removed with its contents.
class TempDir {
public:
  static Expected<TempDir> create(std::string_view prefix);
  TempDir(TempDir&&) noexcept;
  TempDir& operator=(TempDir&&) noexcept;
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

private:
  explicit TempDir(std::filesystem::path path) : path_(std::move(path)) {}
  std::filesystem::path path_;
};

// Writes the embedded bpf/lib and the endpoint's C into workDir the way a
// build output directory holds them, compiles it, returns the object path.
Expected<std::filesystem::path> buildEndpointObject(const codegen::EndpointProgramSpec&,
                                                    const std::filesystem::path& workDir);

enum class Direction { Egress, Ingress };

// A policy table entry described by its meaning rather than its prefixlen.
struct PolicyEntry {
  uint32_t identity = POLC_IDENTITY_ANY;
  std::optional<uint8_t> protocol; // nullopt: every protocol (and port)
  uint16_t port = 0;               // host byte order; for ICMP type << 8 | code
  unsigned portPrefixBits = 0;     // 0: every port, 16: exactly `port`
  uint8_t verdict = POLC_VERDICT_ALLOW;
  uint32_t ruleId = 0;
};
polc_policy_key policyKey(const PolicyEntry&);
artifacts::PolicyEntry tableEntry(const PolicyEntry&);

// The tables of the directions an object compiles in as code
// (EndpointProgramSpec::*InlineEntries): set in .rodata before loading.
struct InlineTables {
  std::vector<artifacts::PolicyEntry> ingress, egress;
};

struct ProgramInfo {
  uint32_t translatedInstructions = 0;
  uint32_t verifiedInstructions = 0; // instructions the verifier processed
};

class BpfHarness {
public:
  // Opens and loads (verifies) every program of the object, with the
  // endpoint identity set in its .rodata the way the loader sets it.
  static Expected<BpfHarness> load(const std::filesystem::path& object,
                                   uint32_t endpointIdentity = 0,
                                   const InlineTables& inlineTables = {});
  // Emits, compiles and loads the endpoint in a temporary directory.
  static Expected<BpfHarness> build(const codegen::EndpointProgramSpec&,
                                    const InlineTables& inlineTables = {});

  BpfHarness(BpfHarness&&) noexcept;
  BpfHarness& operator=(BpfHarness&&) noexcept;
  ~BpfHarness();

  // Each change bumps the policy epoch afterwards, as polc load does, so
  // that established flows are judged again; Epoch::Keep leaves it (a test
  // of the fast path: the flow must still pass on its conntrack entry).
  enum class Epoch { Bump, Keep };
  Status setIdentity(std::string_view prefix, uint32_t identity, Epoch = Epoch::Bump);
  Status addPolicy(Direction, const PolicyEntry&, Epoch = Epoch::Bump);
  Status removePolicy(Direction, const PolicyEntry&, Epoch = Epoch::Bump);
  Status bumpPolicyEpoch() const;
  Expected<uint32_t> policyEpoch() const;
  Expected<std::optional<polc_ct_value>> conntrackEntry(const polc_ct_key&) const;
  Expected<size_t> conntrackSize() const;

  // Runs the program once on an Ethernet frame; returns its tc verdict.
  Expected<int> run(std::string_view program, std::span<const uint8_t> frame) const;
  // The same, with the frame as the program left it.
  struct Output {
    int verdict = 0;
    std::vector<uint8_t> frame;
  };
  Expected<Output> runAndRead(std::string_view program, std::span<const uint8_t> frame) const;
  // The same `repeat` times in the kernel (a flood without a sender).
  Expected<int> runRepeated(std::string_view program, std::span<const uint8_t> frame,
                            uint32_t repeat) const;

  // Verdict events (bpf/lib/polc_monitor.h). A test run's skb comes in on
  // the loopback device: its events carry kTestRunIfindex.
  static constexpr uint32_t kTestRunIfindex = 1;
  Status setMonitorLevel(maps::MonitorLevel, std::optional<uint32_t> ifindex = std::nullopt) const;
  Status setEventRate(uint32_t perSecond, uint32_t burst) const;
  // The events sent since the last call, in order.
  Expected<std::vector<polc_event>> takeEvents() const;
  Expected<maps::EventCounts> eventCounts() const;
  Status setCounting(bool on) const;
  // Audit mode of the endpoint the test runs come in on (kTestRunIfindex).
  Status setAudit(bool on) const;
  // The packet and byte counters (bpf/lib/polc_counters.h), summed over CPUs.
  Expected<maps::Counters> counters() const;
  Expected<ProgramInfo> programInfo(std::string_view program) const;

  Expected<int> mapFd(std::string_view name) const;
  Expected<int> programFd(std::string_view name) const;

private:
  Expected<maps::MonitorMaps> monitorMaps() const;
  struct ObjectCloser {
    void operator()(bpf_object*) const;
  };
  explicit BpfHarness(std::unique_ptr<bpf_object, ObjectCloser> object);

  std::unique_ptr<bpf_object, ObjectCloser> object_;
};

} // namespace polc::testing
