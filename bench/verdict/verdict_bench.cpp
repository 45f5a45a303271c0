// bench/verdict's measuring tool: runs packets through loaded tc programs
// with BPF_PROG_TEST_RUN (repeat times each) and prints the median ns per
// packet of every (program, packet) pair as tab-separated lines
//   PROGRAM PACKET MEDIAN_NS MIN_NS
// Measurements alternate: each round runs every pair once, in an order
// rotated by the round, so a noisy neighbour hurts every pair alike.
//
// Programs are polc endpoint programs attached by `polc load` (given by
// their kernel ids) and the two floors of bench/verdict (object files).
// Every run checks the verdict, so a mismatch between the generated policy
// and the packets is an error rather than a wrong-but-fast number.

#include "packet_builder.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>

#include <arpa/inet.h>
#include <unistd.h>

#include "polc_structs.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace {

using polc::testing::PacketBuilder;

constexpr const char* kUsage =
    "usage: verdict_bench [--repeat N] [--rounds N] --peer ADDR --target ADDR\n"
    "                     --allowed-port P --denied-port P\n"
    "                     --floor-empty OBJ --floor-lookup OBJ\n"
    "                     [--policy LABEL:TO_EP_ID:FROM_EP_ID]...\n"
    "                     [--vip ADDR:PORT --backends ADDR:PORT,...]\n"
    "Packets (TCP, IPv4): allowed = peer -> target:allowed-port, repeated (an\n"
    "established flow after the first run), new-flow = the same packet as the\n"
    "first of its flow (its conntrack entry deleted before each run), denied =\n"
    "peer -> target:denied-port, reply = target:80's answer to a connection the\n"
    "target opened (conntrack hit). Runs of new-flow, and of the floors' *-once\n"
    "packets measured the same way, are one per BPF_PROG_TEST_RUN call.\n"
    "With --vip (a service frontend; its backends' addresses and target ports):\n"
    "through each policy's FROM_EP program, egress = target -> peer:80 repeated\n"
    "(an established flow to no vip), vip-established = target -> vip repeated\n"
    "(translated on its polc_lb_nat entry), vip-new-flow = the same packet as the\n"
    "first of its flow (its polc_lb_nat and conntrack entries deleted before each\n"
    "run: a Maglev pick); the vip pairs only for programs built with services.\n"
    "Prints PROGRAM PACKET MEDIAN_NS MIN_NS lines.\n";

[[noreturn]] void fail(const std::string& message) {
  std::cerr << "verdict_bench: " << message << "\n";
  std::exit(1);
}

std::string errnoText(int error) {
  return std::strerror(error);
}

class Fd {
public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

private:
  int fd_;
};

struct ObjectCloser {
  void operator()(bpf_object* object) const { bpf_object__close(object); }
};
using Object = std::unique_ptr<bpf_object, ObjectCloser>;

Object loadObject(const std::string& path) {
  Object object(bpf_object__open_file(path.c_str(), nullptr));
  if (!object) fail("cannot open " + path + ": " + errnoText(errno));
  if (int error = bpf_object__load(object.get()); error != 0)
    fail("cannot load " + path + ": " + errnoText(-error));
  return object;
}

int onlyProgramFd(bpf_object* object, const std::string& path) {
  bpf_program* program = bpf_object__next_program(object, nullptr);
  if (program == nullptr) fail(path + " has no program");
  return bpf_program__fd(program);
}

struct Result {
  int verdict = -1;
  uint32_t nanoseconds = 0;
};

Result testRun(int programFd, const std::vector<uint8_t>& frame, uint32_t repeat) {
  std::vector<uint8_t> out(frame.size() + 256);
  LIBBPF_OPTS(bpf_test_run_opts, options);
  options.data_in = frame.data();
  options.data_size_in = static_cast<uint32_t>(frame.size());
  options.data_out = out.data();
  options.data_size_out = static_cast<uint32_t>(out.size());
  options.repeat = repeat;
  if (bpf_prog_test_run_opts(programFd, &options) != 0)
    fail("BPF_PROG_TEST_RUN: " + errnoText(errno));
  return {static_cast<int>(options.retval), options.duration};
}

// One measured pair: which program, which packet, and what must happen
// before each measurement (opening the connection a reply belongs to).
// With beforeEachRun, the packet must meet a state that its own run changes
// (a new flow's first packet opens the flow): it is run once per call,
// after beforeEachRun, and a sample is the median of those runs.
struct Pair {
  std::string program;
  std::string packet;
  int fd;
  std::vector<uint8_t> frame;
  int expectedVerdict;
  std::optional<std::pair<int, std::vector<uint8_t>>> prepare;
  std::vector<uint32_t> samples;
  std::function<void()> beforeEachRun;
};

// How many single runs make one sample of a once-per-call pair.
constexpr uint32_t kRunsPerCallSample = 20'000;

// One sample: the median ns per packet of `repeat` runs.
uint32_t measure(Pair& pair, uint32_t repeat) {
  auto check = [&](const Result& result) {
    if (result.verdict != pair.expectedVerdict)
      fail(pair.program + " " + pair.packet + ": verdict " + std::to_string(result.verdict) +
           ", expected " + std::to_string(pair.expectedVerdict));
  };
  if (!pair.beforeEachRun) {
    Result result = testRun(pair.fd, pair.frame, repeat);
    check(result);
    return result.nanoseconds;
  }
  std::vector<uint32_t> runs;
  const uint32_t calls = std::min(repeat, kRunsPerCallSample);
  runs.reserve(calls);
  for (uint32_t i = 0; i < calls; ++i) {
    pair.beforeEachRun();
    Result result = testRun(pair.fd, pair.frame, 1);
    check(result);
    runs.push_back(result.nanoseconds);
  }
  std::nth_element(runs.begin(), runs.begin() + runs.size() / 2, runs.end());
  return runs[runs.size() / 2];
}

// The fd of the program's map called `name` (the node's shared conntrack);
// none when the program uses no such map.
std::optional<Fd> findProgramMap(int programFd, const std::string& name) {
  bpf_prog_info info{};
  uint32_t length = sizeof info;
  if (bpf_obj_get_info_by_fd(programFd, &info, &length) != 0)
    fail("program info: " + errnoText(errno));
  std::vector<uint32_t> ids(info.nr_map_ids);
  info = bpf_prog_info{};
  info.nr_map_ids = static_cast<uint32_t>(ids.size());
  info.map_ids = reinterpret_cast<uint64_t>(ids.data());
  length = sizeof info;
  if (bpf_obj_get_info_by_fd(programFd, &info, &length) != 0)
    fail("program info: " + errnoText(errno));
  for (uint32_t id : ids) {
    Fd map(bpf_map_get_fd_by_id(id));
    bpf_map_info mapInfo{};
    uint32_t mapLength = sizeof mapInfo;
    if (map.get() >= 0 && bpf_obj_get_info_by_fd(map.get(), &mapInfo, &mapLength) == 0 &&
        name == mapInfo.name)
      return map;
  }
  return std::nullopt;
}

Fd programMap(int programFd, const std::string& name) {
  auto map = findProgramMap(programFd, name);
  if (!map) fail("the program has no map " + name);
  return std::move(*map);
}

struct Options {
  uint32_t repeat = 1'000'000;
  int rounds = 5;
  std::string peer, target;
  uint16_t allowedPort = 0, deniedPort = 0;
  std::string floorEmpty, floorLookup;
  struct Policy {
    std::string label;
    uint32_t toEndpointId, fromEndpointId;
  };
  std::vector<Policy> policies;
  std::string vip; // ADDR
  uint16_t vipPort = 0;
  std::vector<std::pair<std::string, uint16_t>> backends;
};

std::pair<std::string, uint16_t> addressAndPort(const std::string& text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) fail("want ADDR:PORT, got " + text);
  return {text.substr(0, colon), static_cast<uint16_t>(std::stoul(text.substr(colon + 1)))};
}

Options parse(int argc, char** argv) {
  Options options;
  auto value = [&](int& i) -> std::string {
    if (i + 1 >= argc) fail(std::string(argv[i]) + " needs a value\n" + kUsage);
    return argv[++i];
  };
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--repeat")
      options.repeat = std::stoul(value(i));
    else if (flag == "--rounds")
      options.rounds = std::stoi(value(i));
    else if (flag == "--peer")
      options.peer = value(i);
    else if (flag == "--target")
      options.target = value(i);
    else if (flag == "--allowed-port")
      options.allowedPort = std::stoi(value(i));
    else if (flag == "--denied-port")
      options.deniedPort = std::stoi(value(i));
    else if (flag == "--floor-empty")
      options.floorEmpty = value(i);
    else if (flag == "--floor-lookup")
      options.floorLookup = value(i);
    else if (flag == "--policy") {
      std::string spec = value(i);
      size_t first = spec.find(':'), second = spec.find(':', first + 1);
      if (first == std::string::npos || second == std::string::npos)
        fail("--policy wants LABEL:TO_EP_ID:FROM_EP_ID, got " + spec);
      options.policies.push_back({spec.substr(0, first),
                                  static_cast<uint32_t>(std::stoul(spec.substr(first + 1))),
                                  static_cast<uint32_t>(std::stoul(spec.substr(second + 1)))});
    } else if (flag == "--vip") {
      std::tie(options.vip, options.vipPort) = addressAndPort(value(i));
    } else if (flag == "--backends") {
      std::string list = value(i);
      for (size_t start = 0; start <= list.size();) {
        size_t comma = std::min(list.find(',', start), list.size());
        options.backends.push_back(addressAndPort(list.substr(start, comma - start)));
        start = comma + 1;
      }
    } else if (flag == "-h" || flag == "--help") {
      std::cout << kUsage;
      std::exit(0);
    } else
      fail("unknown option " + flag + "\n" + kUsage);
  }
  if (options.peer.empty() || options.target.empty() || options.allowedPort == 0 ||
      options.deniedPort == 0 || options.floorEmpty.empty() || options.floorLookup.empty() ||
      options.rounds < 1 || options.repeat < 1 || options.vip.empty() != options.backends.empty())
    fail(std::string("missing or bad options\n") + kUsage);
  return options;
}

// The floor_lookup program's key (floor_lookup.bpf.c): the allowed packet hits.
void allowInFloor(bpf_object* object, const Options& options) {
  struct {
    uint32_t saddr;
    uint16_t dport;
    uint8_t protocol;
    uint8_t pad;
  } key{};
  ::inet_pton(AF_INET, options.peer.c_str(), &key.saddr);
  key.dport = htons(options.allowedPort);
  key.protocol = IPPROTO_TCP;
  uint8_t allowed = 1;
  bpf_map* map = bpf_object__find_map_by_name(object, "floor_allowed");
  if (map == nullptr || bpf_map__update_elem(map, &key, sizeof key, &allowed, sizeof allowed, 0))
    fail("cannot fill floor_allowed");
}

// A TCP over IPv4 flow's conntrack key (and polc_lb_nat's, keyed alike).
polc_ct_key tcpFlowKey(const std::string& source, const std::string& destination, uint16_t sport,
                       uint16_t dport, uint8_t direction) {
  polc_ct_key key{};
  ::inet_pton(AF_INET, source.c_str(), &key.saddr[0]);
  ::inet_pton(AF_INET, destination.c_str(), &key.daddr[0]);
  key.sport = htons(sport);
  key.dport = htons(dport);
  key.protocol = IPPROTO_TCP;
  key.family = POLC_FAMILY_IPV4;
  key.direction = direction;
  return key;
}

} // namespace

int main(int argc, char** argv) {
  Options options = parse(argc, argv);
  libbpf_set_print(nullptr);

  const uint16_t clientPort = 40000, replyPort = 41000;
  auto allowed = PacketBuilder::ipv4(options.peer, options.target)
                     .tcp(clientPort, options.allowedPort)
                     .build();
  auto denied =
      PacketBuilder::ipv4(options.peer, options.target).tcp(clientPort, options.deniedPort).build();
  auto opening = PacketBuilder::ipv4(options.target, options.peer).tcp(replyPort, 80).build();
  auto reply = PacketBuilder::ipv4(options.peer, options.target).tcp(80, replyPort).build();

  Object empty = loadObject(options.floorEmpty);
  Object lookup = loadObject(options.floorLookup);
  allowInFloor(lookup.get(), options);

  std::vector<Fd> policyFds;
  policyFds.reserve(2 * options.policies.size()); // the pairs keep raw fds
  std::vector<Pair> pairs;
  auto floor = [&](const std::string& name, int fd, int deniedVerdict) {
    pairs.push_back({name, "allowed", fd, allowed, TC_ACT_OK, std::nullopt, {}, {}});
    pairs.push_back({name, "denied", fd, denied, deniedVerdict, std::nullopt, {}, {}});
    // Measured as new-flow is: one run per call.
    pairs.push_back({name, "allowed-once", fd, allowed, TC_ACT_OK, std::nullopt, {}, [] {}});
  };
  // The allowed packet's conntrack entry as polc_to_ep keys it.
  const polc_ct_key allowedFlow =
      tcpFlowKey(options.peer, options.target, clientPort, options.allowedPort, POLC_CT_INGRESS);
  std::vector<Fd> conntrackFds;
  conntrackFds.reserve(options.policies.size());
  floor("floor-empty", onlyProgramFd(empty.get(), options.floorEmpty), TC_ACT_OK);
  floor("floor-lookup", onlyProgramFd(lookup.get(), options.floorLookup), TC_ACT_SHOT);
  for (const auto& policy : options.policies) {
    Fd& to = policyFds.emplace_back(bpf_prog_get_fd_by_id(policy.toEndpointId));
    Fd& from = policyFds.emplace_back(bpf_prog_get_fd_by_id(policy.fromEndpointId));
    if (to.get() < 0 || from.get() < 0)
      fail("no program with id " + std::to_string(policy.toEndpointId) + " or " +
           std::to_string(policy.fromEndpointId) + ": " + errnoText(errno));
    pairs.push_back({policy.label, "allowed", to.get(), allowed, TC_ACT_OK, std::nullopt, {}, {}});
    int conntrack = conntrackFds.emplace_back(programMap(to.get(), "polc_ct")).get();
    pairs.push_back({policy.label,
                     "new-flow",
                     to.get(),
                     allowed,
                     TC_ACT_OK,
                     std::nullopt,
                     {},
                     [conntrack, &allowedFlow] {
                       if (bpf_map_delete_elem(conntrack, &allowedFlow) != 0 && errno != ENOENT)
                         fail("polc_ct delete: " + errnoText(errno));
                     }});
    pairs.push_back({policy.label, "denied", to.get(), denied, TC_ACT_SHOT, std::nullopt, {}, {}});
    pairs.push_back({policy.label,
                     "reply",
                     to.get(),
                     reply,
                     TC_ACT_OK,
                     std::make_pair(from.get(), opening),
                     {},
                     {}});
  }

  // With a vip: the client's (target's) packets leaving through polc_from_ep.
  const uint16_t vipClientPort = 42000;
  auto egress = PacketBuilder::ipv4(options.target, options.peer).tcp(vipClientPort, 80).build();
  std::vector<uint8_t> toVip;
  polc_ct_key vipFlow{};
  std::vector<polc_ct_key> translatedFlows;
  if (!options.vip.empty()) {
    toVip = PacketBuilder::ipv4(options.target, options.vip)
                .tcp(vipClientPort, options.vipPort)
                .build();
    vipFlow =
        tcpFlowKey(options.target, options.vip, vipClientPort, options.vipPort, POLC_CT_EGRESS);
    for (const auto& [address, port] : options.backends)
      translatedFlows.push_back(
          tcpFlowKey(options.target, address, vipClientPort, port, POLC_CT_EGRESS));
  }
  std::vector<Fd> natFds;
  natFds.reserve(options.policies.size());
  for (size_t p = 0; !options.vip.empty() && p < options.policies.size(); ++p) {
    const auto& label = options.policies[p].label;
    int from = policyFds[2 * p + 1].get();
    int conntrack = conntrackFds[p].get();
    pairs.push_back({label, "egress", from, egress, TC_ACT_OK, std::nullopt, {}, {}});
    auto natMap = findProgramMap(from, "polc_lb_nat");
    if (!natMap) continue; // built without services: nothing to translate
    int nat = natFds.emplace_back(std::move(*natMap)).get();
    pairs.push_back({label, "vip-established", from, toVip, TC_ACT_OK, std::nullopt, {}, {}});
    pairs.push_back({label,
                     "vip-new-flow",
                     from,
                     toVip,
                     TC_ACT_OK,
                     std::nullopt,
                     {},
                     [conntrack, nat, &vipFlow, &translatedFlows] {
                       if (bpf_map_delete_elem(nat, &vipFlow) != 0 && errno != ENOENT)
                         fail("polc_lb_nat delete: " + errnoText(errno));
                       for (const auto& flow : translatedFlows)
                         if (bpf_map_delete_elem(conntrack, &flow) != 0 && errno != ENOENT)
                           fail("polc_ct delete: " + errnoText(errno));
                     }});
  }

  for (int round = 0; round < options.rounds; ++round) {
    std::cerr << "verdict_bench: round " << round + 1 << "/" << options.rounds << "\n";
    for (size_t i = 0; i < pairs.size(); ++i) {
      Pair& pair = pairs[(i + round * 3) % pairs.size()];
      if (pair.prepare) testRun(pair.prepare->first, pair.prepare->second, 1);
      pair.samples.push_back(measure(pair, options.repeat));
    }
  }
  for (Pair& pair : pairs) {
    std::sort(pair.samples.begin(), pair.samples.end());
    std::cout << pair.program << "\t" << pair.packet << "\t"
              << pair.samples[pair.samples.size() / 2] << "\t" << pair.samples.front() << "\n";
  }
  return 0;
}
