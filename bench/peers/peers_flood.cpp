// bench/peers's and bench/kubeproxy's traffic tool.
//
//   peers_flood send ADDRESS PORT SECONDS [CPU]
//     Floods ADDRESS:PORT with small UDP datagrams from one connected socket
//     (sendmmsg, 64 per call) for SECONDS, pinned to CPU (default 0), and
//     prints "sent=N wall_ns=W cpu_ns=C": C is this thread's CPU time plus
//     that of the CPU's ksoftirqd. A veth delivers in the sender's context
//     (its receive softirq runs when the send re-enables bottom halves), so
//     C is the whole path: socket, routing, tc, netfilter, UDP delivery.
//   peers_flood flows FILE PORT SECONDS SOCKETS FIRST_PORT [CPU]
//     New flows (bench/kubeproxy): SOCKETS unconnected sockets bound to
//     source ports FIRST_PORT.. each send to every address of FILE (one a
//     line) on PORT once, each from its own offset in the list, 64 datagrams
//     per sendmmsg, round robin over the sockets; so every datagram is a
//     5-tuple not sent before and the destinations sent to so far are spread
//     over the list. Stops after SECONDS or when every (socket, address)
//     pair was sent, and prints "sent=N wall_ns=W cpu_ns=C tuples=T" (C as
//     for send; T = SOCKETS x addresses).
//   peers_flood sink PORT SECONDS [ADDRESS...]
//     Binds a UDP socket on PORT (on each ADDRESS, default 0.0.0.0: with
//     SO_REUSEADDR, so that a wildcard and specific addresses can share the
//     port, each address's datagrams counted on its own socket in
//     /proc/net/udp) and keeps it open without reading it, so packets that
//     pass the firewall reach a socket (counted by the kernel in
//     /proc/net/snmp as delivered or dropped for a full buffer) instead of
//     triggering ICMP port unreachable.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

[[noreturn]] void fail(const std::string& message) {
  std::cerr << "peers_flood: " << message << "\n";
  std::exit(1);
}

class Socket {
public:
  Socket() : fd_(::socket(AF_INET, SOCK_DGRAM, 0)) {
    if (fd_ < 0) fail(std::string("socket: ") + std::strerror(errno));
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket() { ::close(fd_); }
  int get() const { return fd_; }

private:
  int fd_;
};

sockaddr_in endpoint(const std::string& address, uint16_t port) {
  sockaddr_in where{};
  where.sin_family = AF_INET;
  where.sin_port = htons(port);
  if (::inet_pton(AF_INET, address.c_str(), &where.sin_addr) != 1) fail("bad address " + address);
  return where;
}

int64_t threadCpuNanoseconds() {
  timespec now{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

// The pid of ksoftirqd/CPU, which runs the receive softirq when it is
// deferred under load; 0 if not found.
int ksoftirqdPid(int cpu) {
  const std::string wanted = "ksoftirqd/" + std::to_string(cpu);
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return 0;
  int found = 0;
  while (dirent* entry = ::readdir(proc)) {
    std::string comm;
    std::ifstream(std::string("/proc/") + entry->d_name + "/comm") >> comm;
    if (comm == wanted) {
      found = std::atoi(entry->d_name);
      break;
    }
  }
  ::closedir(proc);
  return found;
}

// Nanoseconds a task has run (first field of /proc/PID/schedstat).
int64_t taskRunNanoseconds(int pid) {
  int64_t run = 0;
  if (pid > 0) std::ifstream("/proc/" + std::to_string(pid) + "/schedstat") >> run;
  return run;
}

void pinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (::sched_setaffinity(0, sizeof set, &set) != 0)
    fail("cannot pin to CPU " + std::to_string(cpu) + ": " + std::strerror(errno));
}

// This thread's CPU time plus that of its CPU's ksoftirqd, from construction.
class PathClock {
public:
  explicit PathClock(int cpu)
      : softirqPid_(ksoftirqdPid(cpu)), softirqStart_(taskRunNanoseconds(softirqPid_)),
        cpuStart_(threadCpuNanoseconds()) {}
  int64_t elapsed() const {
    return threadCpuNanoseconds() - cpuStart_ + (taskRunNanoseconds(softirqPid_) - softirqStart_);
  }

private:
  int softirqPid_;
  int64_t softirqStart_;
  int64_t cpuStart_;
};

// sendmmsg's errors that leave the flood going: ENOBUFS, or an ICMP error
// that came back (ECONNREFUSED).
bool transient(int error) {
  return error == ENOBUFS || error == ECONNREFUSED || error == EAGAIN;
}

int send(const std::string& address, uint16_t port, double seconds, int cpu) {
  pinTo(cpu);
  Socket socket;
  sockaddr_in to = endpoint(address, port);
  if (::connect(socket.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) != 0)
    fail(std::string("connect: ") + std::strerror(errno));

  constexpr int kBatch = 64;
  char payload[18] = "polc bench/peers"; // 18 bytes: a 60-byte frame
  iovec data{payload, sizeof payload};
  std::vector<mmsghdr> messages(kBatch);
  for (auto& message : messages) {
    message.msg_hdr = {};
    message.msg_hdr.msg_iov = &data;
    message.msg_hdr.msg_iovlen = 1;
  }

  const PathClock clock(cpu);
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  uint64_t sent = 0;
  auto now = start;
  while (now < end) {
    for (int i = 0; i < 16; ++i) {
      int n = ::sendmmsg(socket.get(), messages.data(), kBatch, 0);
      if (n > 0)
        sent += n;
      else if (!transient(errno))
        fail(std::string("sendmmsg: ") + std::strerror(errno));
    }
    now = std::chrono::steady_clock::now();
  }
  const int64_t cpu_ns = clock.elapsed();
  const int64_t wall_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now - start).count();
  std::cout << "sent=" << sent << " wall_ns=" << wall_ns << " cpu_ns=" << cpu_ns << "\n";
  return 0;
}

std::vector<sockaddr_in> readAddresses(const std::string& file, uint16_t port) {
  std::ifstream in(file);
  if (!in) fail("cannot read " + file);
  std::vector<sockaddr_in> addresses;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) addresses.push_back(endpoint(line, port));
  if (addresses.empty()) fail("no address in " + file);
  return addresses;
}

void bindTo(const Socket& socket, const sockaddr_in& where) {
  if (::bind(socket.get(), reinterpret_cast<const sockaddr*>(&where), sizeof where) != 0)
    fail("bind to port " + std::to_string(ntohs(where.sin_port)) + ": " + std::strerror(errno));
}

int flows(const std::string& file, uint16_t port, double seconds, int count, int firstPort,
          int cpu) {
  pinTo(cpu);
  const std::vector<sockaddr_in> addresses = readAddresses(file, port);
  const size_t total = addresses.size();
  if (count < 1 || firstPort < 1 || firstPort + count - 1 > 65535)
    fail("bad SOCKETS or FIRST_PORT");
  const rlimit files{static_cast<rlim_t>(count) + 64, static_cast<rlim_t>(count) + 64};
  if (::setrlimit(RLIMIT_NOFILE, &files) != 0)
    fail(std::string("setrlimit: ") + std::strerror(errno));

  // Socket s walks the addresses from offset s * total / count: at any time
  // the destinations sent so far are spread over the whole list.
  std::vector<std::unique_ptr<Socket>> sockets;
  std::vector<size_t> offset, done(count, 0);
  for (int s = 0; s < count; ++s) {
    sockets.push_back(std::make_unique<Socket>());
    bindTo(*sockets.back(), endpoint("0.0.0.0", static_cast<uint16_t>(firstPort + s)));
    offset.push_back(static_cast<size_t>(s) * total / count);
  }

  constexpr size_t kBatch = 64;
  char payload[18] = "polc bench/peers"; // 18 bytes: a 60-byte frame
  iovec data{payload, sizeof payload};
  std::vector<sockaddr_in> to(kBatch);
  std::vector<mmsghdr> messages(kBatch);
  for (size_t j = 0; j < kBatch; ++j) {
    messages[j].msg_hdr = {};
    messages[j].msg_hdr.msg_iov = &data;
    messages[j].msg_hdr.msg_iovlen = 1;
    messages[j].msg_hdr.msg_name = &to[j];
    messages[j].msg_hdr.msg_namelen = sizeof to[j];
  }

  const PathClock clock(cpu);
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  uint64_t sent = 0;
  int left = count; // sockets that have addresses left
  auto now = start;
  for (int s = 0, calls = 0; left > 0 && now < end; s = (s + 1) % count) {
    if (done[s] == total) continue;
    const size_t batch = std::min(kBatch, total - done[s]);
    for (size_t j = 0; j < batch; ++j) to[j] = addresses[(offset[s] + done[s] + j) % total];
    int n = ::sendmmsg(sockets[s]->get(), messages.data(), static_cast<unsigned>(batch), 0);
    if (n > 0) {
      sent += n;
      done[s] += n;
      if (done[s] == total) --left;
    } else if (!transient(errno)) {
      fail(std::string("sendmmsg: ") + std::strerror(errno));
    }
    if (++calls % 16 == 0) now = std::chrono::steady_clock::now();
  }
  now = std::chrono::steady_clock::now();
  const int64_t cpu_ns = clock.elapsed();
  const int64_t wall_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now - start).count();
  std::cout << "sent=" << sent << " wall_ns=" << wall_ns << " cpu_ns=" << cpu_ns
            << " tuples=" << total * count << "\n";
  return 0;
}

int sink(uint16_t port, double seconds, std::vector<std::string> addresses) {
  if (addresses.empty()) addresses.push_back("0.0.0.0");
  std::vector<std::unique_ptr<Socket>> sockets;
  for (const std::string& address : addresses) {
    sockets.push_back(std::make_unique<Socket>());
    const int on = 1;
    if (::setsockopt(sockets.back()->get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0)
      fail(std::string("SO_REUSEADDR: ") + std::strerror(errno));
    bindTo(*sockets.back(), endpoint(address, port));
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() >= 4 && args.size() <= 5 && args[0] == "send")
    return send(args[1], std::stoi(args[2]), std::stod(args[3]),
                args.size() == 5 ? std::stoi(args[4]) : 0);
  if (args.size() >= 6 && args.size() <= 7 && args[0] == "flows")
    return flows(args[1], std::stoi(args[2]), std::stod(args[3]), std::stoi(args[4]),
                 std::stoi(args[5]), args.size() == 7 ? std::stoi(args[6]) : 0);
  if (args.size() >= 3 && args[0] == "sink")
    return sink(std::stoi(args[1]), std::stod(args[2]), {args.begin() + 3, args.end()});
  std::cerr << "usage: peers_flood send ADDRESS PORT SECONDS [CPU]\n"
               "       peers_flood flows FILE PORT SECONDS SOCKETS FIRST_PORT [CPU]\n"
               "       peers_flood sink PORT SECONDS [ADDRESS...]\n";
  return 2;
}
