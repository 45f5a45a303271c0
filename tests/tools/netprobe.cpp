// netprobe: a tiny traffic tool for the end-to-end tests, so they need no
// netcat/socat. Every wait is bounded.
//
//   netprobe serve --tcp 80,81 --udp 9000 [--ready-file F] [--seconds N]
//       echo server on 0.0.0.0 for N seconds (default 300)
//   netprobe connect tcp|udp ADDRESS PORT [--timeout-ms N]
//       exit 0 when the peer echoed our message back, 1 otherwise
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <netinet/in.h>
#include <poll.h>
#include <sstream>
#include <string>
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

sockaddr_in address(const char* host, int port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(uint16_t(port));
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
    std::fprintf(stderr, "netprobe: bad address %s\n", host);
    std::exit(2);
  }
  return sa;
}

Fd listenOn(int type, int port) {
  Fd fd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  auto sa = address("0.0.0.0", port);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      (type == SOCK_STREAM && ::listen(fd.get(), 64) != 0)) {
    std::fprintf(stderr, "netprobe: cannot listen on port %d: %s\n", port, std::strerror(errno));
    std::exit(3);
  }
  return fd;
}

int serve(const std::vector<int>& tcp, const std::vector<int>& udp, const std::string& readyFile,
          int seconds) {
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
      sockaddr_in from{};
      socklen_t length = sizeof from;
      auto n = ::recvfrom(fd.get(), buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from),
                          &length);
      if (n > 0)
        ::sendto(fd.get(), buffer, size_t(n), 0, reinterpret_cast<sockaddr*>(&from), length);
    }
    std::vector<Fd> open;
    for (auto& fd : connections) {
      bool keep = true;
      if (i < fds.size() && (fds[i++].revents & (POLLIN | POLLHUP | POLLERR))) {
        char buffer[2048];
        auto n = ::read(fd.get(), buffer, sizeof buffer);
        keep = n > 0 && ::write(fd.get(), buffer, size_t(n)) == n;
      }
      if (keep) open.push_back(std::move(fd));
    }
    connections = std::move(open);
  }
  return 0;
}

// Waits for `events` on fd until the deadline; false on timeout.
bool waitFor(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, int(left.count())) == 1 && (p.revents & events);
}

int connectAndEcho(bool tcp, const char* host, int port, int timeoutMs) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  Fd fd(::socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  auto sa = address(host, port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 &&
      errno != EINPROGRESS) {
    std::fprintf(stderr, "netprobe: connect: %s\n", std::strerror(errno));
    return 1;
  }
  if (tcp) {
    if (!waitFor(fd.get(), POLLOUT, deadline)) return 1;
    int error = 0;
    socklen_t length = sizeof error;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) return 1;
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
      if (n <= 0) break;
      received.append(buffer, size_t(n));
    }
    if (received == message) return 0;
  }
  return 1;
}

int usage() {
  std::fprintf(stderr,
               "usage: netprobe serve --tcp P,.. --udp P,.. [--ready-file F] [--seconds N]\n"
               "       netprobe connect tcp|udp ADDRESS PORT [--timeout-ms N]\n");
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  std::string command = argv[1];
  if (command == "serve") {
    std::vector<int> tcp, udp;
    std::string readyFile;
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
      else
        return usage();
    }
    return serve(tcp, udp, readyFile, seconds);
  }
  if (command == "connect" && argc >= 5) {
    std::string protocol = argv[2];
    if (protocol != "tcp" && protocol != "udp") return usage();
    int timeoutMs = 1000;
    if (argc == 7 && std::string(argv[5]) == "--timeout-ms") timeoutMs = std::atoi(argv[6]);
    return connectAndEcho(protocol == "tcp", argv[3], std::atoi(argv[4]), timeoutMs);
  }
  return usage();
}
