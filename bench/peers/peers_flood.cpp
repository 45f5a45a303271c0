// bench/peers's traffic tool.
//
//   peers_flood send ADDRESS PORT SECONDS [CPU]
//     Floods ADDRESS:PORT with small UDP datagrams from one connected socket
//     (sendmmsg, 64 per call) for SECONDS, pinned to CPU (default 0), and
//     prints "sent=N wall_ns=W cpu_ns=C": C is this thread's CPU time plus
//     that of the CPU's ksoftirqd. A veth delivers in the sender's context
//     (its receive softirq runs when the send re-enables bottom halves), so
//     C is the whole path: socket, routing, tc, netfilter, UDP delivery.
//   peers_flood sink PORT SECONDS
//     Binds a UDP socket on PORT and keeps it open without reading it, so
//     packets that pass the firewall reach a socket (counted by the kernel
//     in /proc/net/snmp as delivered or dropped for a full buffer) instead
//     of triggering ICMP port unreachable.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <fstream>
#include <iostream>
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

int send(const std::string& address, uint16_t port, double seconds, int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (::sched_setaffinity(0, sizeof set, &set) != 0)
    fail("cannot pin to CPU " + std::to_string(cpu) + ": " + std::strerror(errno));

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

  const int softirqPid = ksoftirqdPid(cpu);
  const int64_t softirqStart = taskRunNanoseconds(softirqPid);
  const int64_t cpuStart = threadCpuNanoseconds();
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  uint64_t sent = 0;
  auto now = start;
  while (now < end) {
    for (int i = 0; i < 16; ++i) {
      int n = ::sendmmsg(socket.get(), messages.data(), kBatch, 0);
      // ENOBUFS/ECONNREFUSED (an ICMP error came back): keep flooding.
      if (n > 0)
        sent += n;
      else if (errno != ENOBUFS && errno != ECONNREFUSED && errno != EAGAIN)
        fail(std::string("sendmmsg: ") + std::strerror(errno));
    }
    now = std::chrono::steady_clock::now();
  }
  const int64_t cpu_ns =
      threadCpuNanoseconds() - cpuStart + (taskRunNanoseconds(softirqPid) - softirqStart);
  const int64_t wall_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now - start).count();
  std::cout << "sent=" << sent << " wall_ns=" << wall_ns << " cpu_ns=" << cpu_ns << "\n";
  return 0;
}

int sink(uint16_t port, double seconds) {
  Socket socket;
  sockaddr_in any = endpoint("0.0.0.0", port);
  if (::bind(socket.get(), reinterpret_cast<sockaddr*>(&any), sizeof any) != 0)
    fail(std::string("bind: ") + std::strerror(errno));
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() >= 4 && args.size() <= 5 && args[0] == "send")
    return send(args[1], std::stoi(args[2]), std::stod(args[3]),
                args.size() == 5 ? std::stoi(args[4]) : 0);
  if (args.size() == 3 && args[0] == "sink") return sink(std::stoi(args[1]), std::stod(args[2]));
  std::cerr << "usage: peers_flood send ADDRESS PORT SECONDS [CPU]\n"
               "       peers_flood sink PORT SECONDS\n";
  return 2;
}
