// netprobe: a tiny traffic tool for the end-to-end tests, so they need no
// netcat/socat. Every wait is bounded.
//
//   netprobe serve --tcp 80,81 --udp 9000 [--ready-file F] [--seconds N] [--name NAME]
//       echo server on every IPv4 and IPv6 address ([::], dual-stack) for
//       N seconds (default 300); with a name, it answers the message
//       "?name" with NAME instead
//   netprobe connect tcp|udp ADDRESS PORT [--timeout-ms N]
//       exit 0 when the peer echoed our message back, 4 when it refused
//       (TCP reset, or for UDP an ICMP/ICMPv6 port unreachable that reached
//       us), 1 otherwise (no answer)
//   netprobe ping ADDRESS [--timeout-ms N]
//       one ICMP (IPv4 address) or ICMPv6 (IPv6 address) echo request;
//       exit 0 when the matching echo reply arrives from ADDRESS, 4 when
//       ADDRESS answers it with a destination unreachable, 1 otherwise
//   netprobe session ADDRESS PORT --messages N --interval-ms M
//       one TCP connection that sends N messages, M ms apart, each echoed
//       within a second: exit 0 when every one was, 1 at the first that
//       was not (the connection was broken)
//   netprobe tally tcp|udp ADDRESS PORT --count N
//       N flows, each from a new socket (a new source port), asking the
//       server its name (serve --name); prints "NAME COUNT" per answer,
//       "none COUNT" for flows that got none
//   netprobe flood ADDRESS PORT --seconds N
//       UDP datagrams to ADDRESS:PORT as fast as one socket sends them for
//       N seconds (at most 60); prints how many were sent
// ADDRESS is IPv4 or IPv6.
#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sstream>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace {

class Fd {
public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  int get() const { return fd_; }

private:
  int fd_;
};

std::vector<int> parsePorts(const std::string& list) {
  std::vector<int> ports;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty()) ports.push_back(std::atoi(item.c_str()));
  return ports;
}

struct Address {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family = AF_INET;
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
};

// An IPv4 or IPv6 address (with a port); exits on a malformed one.
Address address(const char* host, int port) {
  Address result;
  if (std::strchr(host, ':')) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&result.storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(uint16_t(port));
    result.family = AF_INET6;
    result.length = sizeof *in6;
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) return result;
  } else {
    auto* in4 = reinterpret_cast<sockaddr_in*>(&result.storage);
    in4->sin_family = AF_INET;
    in4->sin_port = htons(uint16_t(port));
    result.length = sizeof *in4;
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) return result;
  }
  std::fprintf(stderr, "netprobe: bad address %s\n", host);
  std::exit(2);
}

// One socket per port for both families: [::] with IPV6_V6ONLY off.
Fd listenOn(int type, int port) {
  Fd fd(::socket(AF_INET6, type | SOCK_CLOEXEC, 0));
  int one = 1, zero = 0;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  auto sa = address("::", port);
  if (::bind(fd.get(), sa.get(), sa.length) != 0 ||
      (type == SOCK_STREAM && ::listen(fd.get(), 64) != 0)) {
    std::fprintf(stderr, "netprobe: cannot listen on port %d: %s\n", port, std::strerror(errno));
    std::exit(3);
  }
  return fd;
}

constexpr std::string_view kNameQuestion = "?name";

// What the server sends back: the message, or its name when asked.
std::string_view answerTo(std::string_view message, const std::string& name) {
  return !name.empty() && message == kNameQuestion ? std::string_view(name) : message;
}

int serve(const std::vector<int>& tcp, const std::vector<int>& udp, const std::string& readyFile,
          int seconds, const std::string& name) {
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<Fd> listeners, datagrams, connections;
  for (int port : tcp) listeners.push_back(listenOn(SOCK_STREAM, port));
  for (int port : udp) datagrams.push_back(listenOn(SOCK_DGRAM, port));
  if (!readyFile.empty()) std::ofstream(readyFile) << "ready\n";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    std::vector<pollfd> fds;
    for (auto& fd : listeners) fds.push_back({fd.get(), POLLIN, 0});
    for (auto& fd : datagrams) fds.push_back({fd.get(), POLLIN, 0});
    for (auto& fd : connections) fds.push_back({fd.get(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), 200) <= 0) continue;
    size_t i = 0;
    for (auto& fd : listeners)
      if (fds[i++].revents & POLLIN)
        connections.emplace_back(::accept4(fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
    for (auto& fd : datagrams) {
      if (!(fds[i++].revents & POLLIN)) continue;
      char buffer[2048];
      sockaddr_storage from{}; // v4-mapped for IPv4 peers
      socklen_t length = sizeof from;
      auto n = ::recvfrom(fd.get(), buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from),
                          &length);
      if (n > 0) {
        auto answer = answerTo(std::string_view(buffer, size_t(n)), name);
        ::sendto(fd.get(), answer.data(), answer.size(), 0, reinterpret_cast<sockaddr*>(&from),
                 length);
      }
    }
    std::vector<Fd> open;
    for (auto& fd : connections) {
      bool keep = true;
      if (i < fds.size() && (fds[i++].revents & (POLLIN | POLLHUP | POLLERR))) {
        char buffer[2048];
        auto n = ::read(fd.get(), buffer, sizeof buffer);
        auto answer = answerTo(std::string_view(buffer, size_t(std::max<ssize_t>(n, 0))), name);
        keep = n > 0 && ::write(fd.get(), answer.data(), answer.size()) == ssize_t(answer.size());
      }
      if (keep) open.push_back(std::move(fd));
    }
    connections = std::move(open);
  }
  return 0;
}

constexpr int kRefused = 4; // exit code: the peer answered with a refusal

// Waits for `events` on fd until the deadline; false on timeout.
bool waitFor(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd, events, 0};
  // An error (a refusal) is an answer too: the next recv or SO_ERROR reports it.
  return ::poll(&p, 1, int(left.count())) == 1 && (p.revents & (events | POLLERR | POLLHUP));
}

int connectAndEcho(bool tcp, const char* host, int port, int timeoutMs) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  auto sa = address(host, port);
  Fd fd(::socket(sa.family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (::connect(fd.get(), sa.get(), sa.length) != 0 && errno != EINPROGRESS) {
    std::fprintf(stderr, "netprobe: connect: %s\n", std::strerror(errno));
    return 1;
  }
  if (tcp) {
    if (!waitFor(fd.get(), POLLOUT, deadline)) return 1;
    int error = 0;
    socklen_t length = sizeof error;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) return error == ECONNREFUSED ? kRefused : 1;
  }
  const std::string message = "polc-netprobe";
  // UDP may lose the first datagram while neighbours resolve: resend a few times.
  for (int attempt = 0; attempt < (tcp ? 1 : 3); ++attempt) {
    if (::send(fd.get(), message.data(), message.size(), MSG_NOSIGNAL) != ssize_t(message.size()))
      return 1;
    auto attemptDeadline =
        tcp ? deadline
            : std::min(deadline, std::chrono::steady_clock::now() +
                                     std::chrono::milliseconds(timeoutMs / 3 + 1));
    std::string received;
    while (received.size() < message.size() && waitFor(fd.get(), POLLIN, attemptDeadline)) {
      char buffer[256];
      auto n = ::recv(fd.get(), buffer, sizeof buffer, 0);
      if (n < 0 && errno == ECONNREFUSED) return kRefused; // the ICMP error got through
      if (n <= 0) break;
      received.append(buffer, size_t(n));
    }
    if (received == message) return 0;
  }
  return 1;
}

uint16_t internetChecksum(const void* data, size_t length) {
  uint32_t sum = 0;
  const auto* bytes = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i + 1 < length; i += 2) sum += uint32_t(bytes[i] << 8 | bytes[i + 1]);
  if (length % 2) sum += uint32_t(bytes[length - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return htons(uint16_t(~sum));
}

// One echo request on a raw socket; 0 when its reply (same identifier and
// sequence, from the target) arrives in time. For ICMPv6 the kernel fills
// in the checksum (it covers a pseudo-header) and strips the IPv6 header
// from what we read; for ICMP we compute it and skip the IPv4 header.
int ping(const char* host, int timeoutMs) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  auto target = address(host, 0);
  const bool v6 = target.family == AF_INET6;
  Fd fd(::socket(target.family, SOCK_RAW | SOCK_CLOEXEC,
                 v6 ? int(IPPROTO_ICMPV6) : int(IPPROTO_ICMP)));
  if (fd.get() < 0) {
    std::fprintf(stderr, "netprobe: raw socket: %s\n", std::strerror(errno));
    return 1;
  }
  const uint16_t identifier = uint16_t(::getpid());
  const uint16_t sequence = uint16_t(std::chrono::steady_clock::now().time_since_epoch().count());
  unsigned char request[16] = {};
  request[0] = v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
  uint16_t id = htons(identifier), seq = htons(sequence);
  std::memcpy(request + 4, &id, 2);
  std::memcpy(request + 6, &seq, 2);
  std::memcpy(request + 8, "polcping", 8);
  if (!v6) {
    uint16_t checksum = internetChecksum(request, sizeof request);
    std::memcpy(request + 2, &checksum, 2);
  }
  if (::sendto(fd.get(), request, sizeof request, 0, target.get(), target.length) !=
      ssize_t(sizeof request)) {
    std::fprintf(stderr, "netprobe: sendto: %s\n", std::strerror(errno));
    return 1;
  }
  while (waitFor(fd.get(), POLLIN, deadline)) {
    unsigned char packet[1500];
    Address from;
    from.length = sizeof from.storage;
    auto n = ::recvfrom(fd.get(), packet, sizeof packet, 0, from.get(), &from.length);
    if (n <= 0) continue;
    size_t offset = v6 ? 0 : size_t(reinterpret_cast<const iphdr*>(packet)->ihl) * 4;
    if (size_t(n) < offset + 8) continue;
    const unsigned char* reply = packet + offset;
    bool sameSource =
        v6 ? std::memcmp(&reinterpret_cast<sockaddr_in6*>(from.get())->sin6_addr,
                         &reinterpret_cast<sockaddr_in6*>(target.get())->sin6_addr, 16) == 0
           : reinterpret_cast<sockaddr_in*>(from.get())->sin_addr.s_addr ==
                 reinterpret_cast<sockaddr_in*>(target.get())->sin_addr.s_addr;
    if (sameSource && reply[0] == (v6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY) &&
        std::memcmp(reply + 4, &id, 2) == 0 && std::memcmp(reply + 6, &seq, 2) == 0)
      return 0;
    // A destination unreachable quoting our request (its IP header, then
    // the echo's first 8 bytes): a refusal.
    const size_t inner = offset + 8;
    if (sameSource && reply[0] == (v6 ? ICMP6_DST_UNREACH : ICMP_DEST_UNREACH) &&
        size_t(n) >= inner + (v6 ? 40 : 20)) {
      const size_t quoted =
          inner + (v6 ? 40 : size_t(reinterpret_cast<const iphdr*>(packet + inner)->ihl) * 4);
      if (size_t(n) >= quoted + 8 && packet[quoted] == request[0] &&
          std::memcmp(packet + quoted + 4, &id, 2) == 0 &&
          std::memcmp(packet + quoted + 6, &seq, 2) == 0)
        return kRefused;
    }
  }
  return 1;
}

// Sends `message` on a connected socket and waits for it back.
bool echoOnce(int fd, const std::string& message, std::chrono::steady_clock::time_point deadline) {
  if (::send(fd, message.data(), message.size(), MSG_NOSIGNAL) != ssize_t(message.size()))
    return false;
  std::string received;
  while (received.size() < message.size() && waitFor(fd, POLLIN, deadline)) {
    char buffer[256];
    auto n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    received.append(buffer, size_t(n));
  }
  return received == message;
}

int session(const char* host, int port, int messages, int intervalMs) {
  auto sa = address(host, port);
  Fd fd(::socket(sa.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  if (::connect(fd.get(), sa.get(), sa.length) != 0 && errno != EINPROGRESS) return 1;
  if (!waitFor(fd.get(), POLLOUT, deadline)) return 1;
  int error = 0;
  socklen_t length = sizeof error;
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length);
  if (error != 0) return 1;
  for (int i = 0; i < messages; ++i) {
    if (i > 0) ::usleep(useconds_t(intervalMs) * 1000);
    auto message = "polc-session-" + std::to_string(i);
    if (!echoOnce(fd.get(), message, std::chrono::steady_clock::now() + std::chrono::seconds(1))) {
      std::fprintf(stderr, "netprobe: session: message %d of %d not echoed\n", i + 1, messages);
      return 1;
    }
  }
  return 0;
}

// One flow's answer to "?name", or "none".
std::string askName(bool tcp, const Address& target) {
  auto sa = target;
  Fd fd(::socket(sa.family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  if (::connect(fd.get(), sa.get(), sa.length) != 0 && errno != EINPROGRESS) return "none";
  if (!waitFor(fd.get(), POLLOUT, deadline)) return "none";
  if (::send(fd.get(), kNameQuestion.data(), kNameQuestion.size(), MSG_NOSIGNAL) !=
      ssize_t(kNameQuestion.size()))
    return "none";
  if (!waitFor(fd.get(), POLLIN, deadline)) return "none";
  char buffer[256];
  auto n = ::recv(fd.get(), buffer, sizeof buffer, 0);
  return n > 0 ? std::string(buffer, size_t(n)) : "none";
}

int tally(bool tcp, const char* host, int port, int count) {
  auto target = address(host, port);
  std::map<std::string, int> answers;
  for (int i = 0; i < count; ++i) ++answers[askName(tcp, target)];
  for (const auto& [name, times] : answers) std::printf("%s %d\n", name.c_str(), times);
  return 0;
}

int flood(const char* host, int port, int seconds) {
  auto sa = address(host, port);
  Fd fd(::socket(sa.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  const char payload[64] = "polc-flood";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(std::min(seconds, 60));
  uint64_t sent = 0;
  while (std::chrono::steady_clock::now() < deadline)
    for (int burst = 0; burst < 256; ++burst)
      if (::sendto(fd.get(), payload, sizeof payload, 0, sa.get(), sa.length) > 0) ++sent;
  std::printf("%llu\n", static_cast<unsigned long long>(sent));
  return 0;
}

int usage() {
  std::fprintf(
      stderr,
      "usage: netprobe serve --tcp P,.. --udp P,.. [--ready-file F] [--seconds N] [--name NAME]\n"
      "       netprobe connect tcp|udp ADDRESS PORT [--timeout-ms N]\n"
      "       netprobe ping ADDRESS [--timeout-ms N]\n"
      "       netprobe session ADDRESS PORT --messages N --interval-ms M\n"
      "       netprobe tally tcp|udp ADDRESS PORT --count N\n"
      "       netprobe flood ADDRESS PORT --seconds N\n");
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  std::string command = argv[1];
  if (command == "serve") {
    std::vector<int> tcp, udp;
    std::string readyFile, name;
    int seconds = 300;
    for (int i = 2; i + 1 < argc; i += 2) {
      std::string option = argv[i];
      if (option == "--tcp")
        tcp = parsePorts(argv[i + 1]);
      else if (option == "--udp")
        udp = parsePorts(argv[i + 1]);
      else if (option == "--ready-file")
        readyFile = argv[i + 1];
      else if (option == "--seconds")
        seconds = std::atoi(argv[i + 1]);
      else if (option == "--name")
        name = argv[i + 1];
      else
        return usage();
    }
    return serve(tcp, udp, readyFile, seconds, name);
  }
  if (command == "connect" && argc >= 5) {
    std::string protocol = argv[2];
    if (protocol != "tcp" && protocol != "udp") return usage();
    int timeoutMs = 1000;
    if (argc == 7 && std::string(argv[5]) == "--timeout-ms") timeoutMs = std::atoi(argv[6]);
    return connectAndEcho(protocol == "tcp", argv[3], std::atoi(argv[4]), timeoutMs);
  }
  if (command == "ping" && argc >= 3) {
    int timeoutMs = 1000;
    if (argc == 5 && std::string(argv[3]) == "--timeout-ms") timeoutMs = std::atoi(argv[4]);
    return ping(argv[2], timeoutMs);
  }
  if (command == "session" && argc == 8 && std::string(argv[4]) == "--messages" &&
      std::string(argv[6]) == "--interval-ms")
    return session(argv[2], std::atoi(argv[3]), std::atoi(argv[5]), std::atoi(argv[7]));
  if (command == "tally" && argc == 7 && std::string(argv[5]) == "--count") {
    std::string protocol = argv[2];
    if (protocol != "tcp" && protocol != "udp") return usage();
    return tally(protocol == "tcp", argv[3], std::atoi(argv[4]), std::atoi(argv[6]));
  }
  if (command == "flood" && argc == 6 && std::string(argv[4]) == "--seconds")
    return flood(argv[2], std::atoi(argv[3]), std::atoi(argv[5]));
  return usage();
}
