#include "bpf_harness.h"

#include "polc/maps/event_ring.h"

#include "polc/artifacts/manifest.h"
#include "polc/maps/inline_slots.h"
#include "polc/maps/libbpf.h"
#include "polc/maps/map_backend.h"
#include "polc/support/files.h"
#include "polc/support/unique_fd.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <arpa/inet.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <system_error>
#include <utility>

namespace polc::testing {
namespace fs = std::filesystem;

namespace {

std::string errnoText(int error) {
  return std::generic_category().message(error);
}

const char* policyMapName(Direction direction) {
  return direction == Direction::Egress ? "polc_policy_eg" : "polc_policy_in";
}

// The build directory's layout, the files written as a build writes them.
Status writeBuildFile(const fs::path& path, std::string_view contents) {
  std::error_code error;
  fs::create_directories(path.parent_path(), error);
  if (error) return Error{"cannot create " + path.parent_path().string() + ": " + error.message()};
  return writeFile(path, contents, FileSync::Unsynced);
}

} // namespace

std::optional<std::string> kernelUnavailableReason() {
  if (::geteuid() != 0)
    return "not running as root (BPF_PROG_TEST_RUN needs CAP_BPF+CAP_NET_ADMIN)";
  // A one-element array map is the cheapest proof that bpf() works here.
  UniqueFd probe(bpf_map_create(BPF_MAP_TYPE_ARRAY, "polc_probe", 4, 4, 1, nullptr));
  if (probe.get() < 0) return "bpf(BPF_MAP_CREATE) failed: " + errnoText(errno);
  return std::nullopt;
}

Expected<TempDir> TempDir::create(std::string_view prefix) {
  std::error_code error;
  fs::path base = fs::temp_directory_path(error);
  if (error) return Error{"no temp directory: " + error.message()};
  std::string pattern = (base / (std::string(prefix) + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    return Error{"mkdtemp " + pattern + ": " + errnoText(errno)};
  }
  return TempDir(fs::path(pattern));
}

TempDir::TempDir(TempDir&& other) noexcept : path_(std::exchange(other.path_, {})) {}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    std::error_code ignored;
    if (!path_.empty()) fs::remove_all(path_, ignored);
    path_ = std::exchange(other.path_, {});
  }
  return *this;
}

TempDir::~TempDir() {
  std::error_code ignored;
  if (!path_.empty()) fs::remove_all(path_, ignored);
}

Expected<fs::path> buildEndpointObject(const codegen::EndpointProgramSpec& spec,
                                       const fs::path& workDir) {
  for (const auto& [relativePath, contents] : codegen::bpfLibraryFiles()) {
    if (auto status = writeBuildFile(workDir / relativePath, contents); !status) {
      return Error{status.error()};
    }
  }
  const std::string source = "endpoints/" + spec.endpoint + "/prog.c";
  const std::string object = "objects/" + spec.endpoint + ".o";
  if (auto status = writeBuildFile(workDir / source, codegen::emitEndpointC(spec)); !status) {
    return Error{status.error()};
  }
  codegen::CompileRequest request{
      .workDir = workDir, .source = source, .object = object, .includeDirs = {"bpf/lib"}};
  if (auto status = codegen::compileBpfObject(request); !status) return Error{status.error()};
  return workDir / object;
}

// Keys are built by the loader's own encoding (polc/maps/map_encoding.h).
artifacts::PolicyEntry tableEntry(const PolicyEntry& entry) {
  return artifacts::PolicyEntry{.identity = entry.identity,
                                .protocol = entry.protocol.value_or(0),
                                .port = entry.port,
                                .portPrefixBits = static_cast<uint8_t>(entry.portPrefixBits),
                                .verdict = static_cast<artifacts::Verdict>(entry.verdict),
                                .ruleId = entry.ruleId};
}

polc_policy_key policyKey(const PolicyEntry& entry) {
  return maps::policyKey(tableEntry(entry));
}

void BpfHarness::ObjectCloser::operator()(bpf_object* object) const {
  bpf_object__close(object);
}

BpfHarness::BpfHarness(std::unique_ptr<bpf_object, ObjectCloser> object)
    : object_(std::move(object)) {}
BpfHarness::BpfHarness(BpfHarness&&) noexcept = default;
BpfHarness& BpfHarness::operator=(BpfHarness&&) noexcept = default;
BpfHarness::~BpfHarness() = default;

Expected<BpfHarness> BpfHarness::load(const fs::path& objectPath, uint32_t endpointIdentity,
                                      const InlineTables& inlineTables) {
  maps::LibbpfLogCapture log;
  std::unique_ptr<bpf_object, ObjectCloser> object(
      bpf_object__open_file(objectPath.c_str(), nullptr));
  if (!object)
    return Error{maps::libbpfError("bpf_object__open_file " + objectPath.string(), -errno, log)};
  // As the loader does: the identity is load-time config, not in the C.
  auto identitySet =
      maps::setReadOnlyConfig(object.get(), artifacts::kConfigEndpointIdentity, endpointIdentity);
  if (!identitySet) return Error{objectPath.string() + ": " + identitySet.error()};
  for (auto [direction, entries] : {std::pair{artifacts::Direction::Ingress, &inlineTables.ingress},
                                    std::pair{artifacts::Direction::Egress, &inlineTables.egress}})
    if (auto set = maps::setInlineTable(object.get(), direction, *entries); !set)
      return Error{objectPath.string() + ": " + set.error()};
  if (int error = bpf_object__load(object.get()); error != 0)
    return Error{maps::libbpfError("bpf_object__load " + objectPath.string(), error, log)};
  return BpfHarness(std::move(object));
}

Expected<BpfHarness> BpfHarness::build(const codegen::EndpointProgramSpec& spec,
                                       const InlineTables& inlineTables) {
  auto workDir = TempDir::create("polc-datapath");
  if (!workDir) return Error{workDir.error()};
  auto object = buildEndpointObject(spec, workDir->path());
  if (!object) return Error{object.error()};
  return load(*object, spec.identity,
              inlineTables); // the kernel holds the programs; the files may go
}

Expected<int> BpfHarness::mapFd(std::string_view name) const {
  bpf_map* map = bpf_object__find_map_by_name(object_.get(), std::string(name).c_str());
  if (!map) return Error{"object has no map " + std::string(name)};
  return bpf_map__fd(map);
}

Expected<int> BpfHarness::programFd(std::string_view name) const {
  bpf_program* program = bpf_object__find_program_by_name(object_.get(), std::string(name).c_str());
  if (!program) return Error{"object has no program " + std::string(name)};
  return bpf_program__fd(program);
}

Status BpfHarness::setIdentity(std::string_view prefix, uint32_t identity, Epoch epoch) {
  auto key = maps::ipcacheKey(prefix);
  if (!key) return Error{key.error()};
  auto fd = mapFd("polc_ipcache");
  if (!fd) return Error{fd.error()};
  auto lengthsFd = mapFd("polc_ipcache_lengths");
  if (!lengthsFd) return Error{lengthsFd.error()};
  // As the loader does, so that the prefix lengths map lists the new length.
  auto& kernel = maps::kernelMaps();
  auto current = maps::readIpcache(kernel, *fd, "polc_ipcache");
  if (!current) return Error{current.error()};
  auto wanted = *current;
  wanted[maps::toBytes(*key)] = maps::toBytes(polc_ipcache_value{.identity = identity});
  auto applied = maps::applyIpcache(kernel, *fd, *lengthsFd, "polc_ipcache", *current, wanted);
  if (!applied || epoch == Epoch::Keep) return applied;
  return bumpPolicyEpoch();
}

Status BpfHarness::addPolicy(Direction direction, const PolicyEntry& entry, Epoch epoch) {
  auto fd = mapFd(policyMapName(direction));
  if (!fd) return Error{fd.error()};
  const auto table = tableEntry(entry);
  auto updated = maps::kernelMaps().update(*fd, policyMapName(direction),
                                           maps::toBytes(maps::policyKey(table)),
                                           maps::toBytes(maps::policyValue(table)));
  if (!updated || epoch == Epoch::Keep) return updated;
  return bumpPolicyEpoch();
}

Status BpfHarness::removePolicy(Direction direction, const PolicyEntry& entry, Epoch epoch) {
  auto fd = mapFd(policyMapName(direction));
  if (!fd) return Error{fd.error()};
  auto erased =
      maps::kernelMaps().erase(*fd, policyMapName(direction), maps::toBytes(policyKey(entry)));
  if (!erased || epoch == Epoch::Keep) return erased;
  return bumpPolicyEpoch();
}

Status BpfHarness::bumpPolicyEpoch() const {
  auto fd = mapFd("polc_epoch");
  if (!fd) return Error{fd.error()};
  return maps::bumpPolicyEpoch(maps::kernelMaps(), *fd, "polc_epoch");
}

Expected<uint32_t> BpfHarness::policyEpoch() const {
  auto fd = mapFd("polc_epoch");
  if (!fd) return Error{fd.error()};
  const uint32_t zero = 0;
  polc_epoch_value value{};
  if (bpf_map_lookup_elem(*fd, &zero, &value) != 0)
    return Error{"polc_epoch lookup: " + errnoText(errno)};
  return value.epoch;
}

Expected<std::optional<polc_ct_value>> BpfHarness::conntrackEntry(const polc_ct_key& key) const {
  auto fd = mapFd("polc_ct");
  if (!fd) return Error{fd.error()};
  polc_ct_value value{};
  if (bpf_map_lookup_elem(*fd, &key, &value) == 0) return std::optional<polc_ct_value>(value);
  if (errno == ENOENT) return std::optional<polc_ct_value>();
  return Error{"polc_ct lookup: " + errnoText(errno)};
}

Expected<size_t> BpfHarness::conntrackSize() const {
  auto fd = mapFd("polc_ct");
  if (!fd) return Error{fd.error()};
  size_t count = 0;
  polc_ct_key key{};
  const polc_ct_key* previous = nullptr;
  while (bpf_map_get_next_key(*fd, previous, &key) == 0) {
    ++count;
    previous = &key; // the kernel reads it before writing the next key
  }
  if (errno != ENOENT) return Error{"polc_ct iteration: " + errnoText(errno)};
  return count;
}

Expected<int> BpfHarness::run(std::string_view program, std::span<const uint8_t> frame) const {
  auto fd = programFd(program);
  if (!fd) return Error{fd.error()};
  LIBBPF_OPTS(bpf_test_run_opts, options, .data_in = frame.data(),
              .data_size_in = static_cast<__u32>(frame.size()), .repeat = 1);
  if (bpf_prog_test_run_opts(*fd, &options) != 0) {
    return Error{"BPF_PROG_TEST_RUN " + std::string(program) + ": " + errnoText(errno)};
  }
  return static_cast<int>(options.retval);
}

Expected<BpfHarness::Output> BpfHarness::runAndRead(std::string_view program,
                                                    std::span<const uint8_t> frame) const {
  auto fd = programFd(program);
  if (!fd) return Error{fd.error()};
  std::vector<uint8_t> out(frame.size() + 256);
  LIBBPF_OPTS(bpf_test_run_opts, options, .data_in = frame.data(), .data_out = out.data(),
              .data_size_in = static_cast<__u32>(frame.size()),
              .data_size_out = static_cast<__u32>(out.size()), .repeat = 1);
  if (bpf_prog_test_run_opts(*fd, &options) != 0)
    return Error{"BPF_PROG_TEST_RUN " + std::string(program) + ": " + errnoText(errno)};
  out.resize(options.data_size_out);
  return Output{static_cast<int>(options.retval), std::move(out)};
}

Expected<int> BpfHarness::runRepeated(std::string_view program, std::span<const uint8_t> frame,
                                      uint32_t repeat) const {
  auto fd = programFd(program);
  if (!fd) return Error{fd.error()};
  LIBBPF_OPTS(bpf_test_run_opts, options, .data_in = frame.data(),
              .data_size_in = static_cast<__u32>(frame.size()), .repeat = static_cast<int>(repeat));
  if (bpf_prog_test_run_opts(*fd, &options) != 0) {
    return Error{"BPF_PROG_TEST_RUN " + std::string(program) + ": " + errnoText(errno)};
  }
  return static_cast<int>(options.retval);
}

Status BpfHarness::setMonitorLevel(maps::MonitorLevel level,
                                   std::optional<uint32_t> ifindex) const {
  auto config = mapFd("polc_monitor_config");
  if (!config) return Error{config.error()};
  auto endpoints = mapFd("polc_monitor_endpoints");
  if (!endpoints) return Error{endpoints.error()};
  return maps::setMonitorLevel(maps::kernelMaps(), {*config, *endpoints}, level, ifindex);
}

Expected<maps::MonitorMaps> BpfHarness::monitorMaps() const {
  auto config = mapFd("polc_monitor_config");
  if (!config) return Error{config.error()};
  auto endpoints = mapFd("polc_monitor_endpoints");
  if (!endpoints) return Error{endpoints.error()};
  return maps::MonitorMaps{*config, *endpoints};
}

Status BpfHarness::setEventRate(uint32_t perSecond, uint32_t burst) const {
  auto monitor = monitorMaps();
  if (!monitor) return Error{monitor.error()};
  return maps::setEventRate(maps::kernelMaps(), *monitor, perSecond, burst);
}

Status BpfHarness::setAudit(bool on) const {
  auto monitor = monitorMaps();
  if (!monitor) return Error{monitor.error()};
  return maps::setAudit(maps::kernelMaps(), *monitor, kTestRunIfindex, on);
}

Status BpfHarness::setCounting(bool on) const {
  auto monitor = monitorMaps();
  if (!monitor) return Error{monitor.error()};
  return maps::setCounting(maps::kernelMaps(), *monitor, on);
}

Expected<std::vector<polc_event>> BpfHarness::takeEvents() const {
  auto fd = mapFd("polc_events");
  if (!fd) return Error{fd.error()};
  std::vector<polc_event> events;
  auto ring =
      maps::EventRing::fromFd(*fd, [&events](const polc_event& event) { events.push_back(event); });
  if (!ring) return Error{ring.error()};
  if (auto drained = ring->drain(); !drained) return Error{drained.error()};
  return events;
}

Expected<maps::EventCounts> BpfHarness::eventCounts() const {
  auto fd = mapFd("polc_event_stats");
  if (!fd) return Error{fd.error()};
  return maps::readEventCounts(maps::kernelMaps(), *fd, unsigned(libbpf_num_possible_cpus()));
}

Expected<maps::Counters> BpfHarness::counters() const {
  auto fd = mapFd("polc_counters");
  if (!fd) return Error{fd.error()};
  return maps::readCounters(maps::kernelMaps(), *fd, unsigned(libbpf_num_possible_cpus()));
}

Expected<ProgramInfo> BpfHarness::programInfo(std::string_view program) const {
  auto fd = programFd(program);
  if (!fd) return Error{fd.error()};
  bpf_prog_info info{};
  __u32 length = sizeof(info);
  if (bpf_obj_get_info_by_fd(*fd, &info, &length) != 0) {
    return Error{"bpf_obj_get_info_by_fd " + std::string(program) + ": " + errnoText(errno)};
  }
  return ProgramInfo{.translatedInstructions = info.xlated_prog_len / 8,
                     .verifiedInstructions = info.verified_insns};
}

} // namespace polc::testing
