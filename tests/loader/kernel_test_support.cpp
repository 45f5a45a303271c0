#include "kernel_test_support.h"

#include "polc/support/command.h"

#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <random>

namespace polc::testing {

namespace {

std::optional<std::string> probeKernelSupport() {
  if (::geteuid() != 0) return "kernel tests need root (network namespaces, BPF, tc)";
  auto ip = runCommand({"ip", "-V"});
  if (!ip || ip->exitCode != 0) return "kernel tests need iproute2 (`ip`)";
  if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SCHED_CLS, nullptr) != 1)
    return "the kernel does not load BPF tc programs (BPF_PROG_TYPE_SCHED_CLS)";
  // A child tries to make a network namespace, leaving ours alone.
  pid_t child = ::fork();
  if (child == 0) ::_exit(::unshare(CLONE_NEWNET) == 0 ? 0 : 1);
  int status = 0;
  if (child < 0 || ::waitpid(child, &status, 0) < 0 || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0)
    return "the kernel does not support network namespaces";
  return std::nullopt;
}

UniqueFd socketInNamespace(const std::string& netns, int family, int type, int protocol) {
  auto entered = NetnsGuard::enter(netns);
  if (!entered) return UniqueFd{};
  return UniqueFd(::socket(family, type | SOCK_CLOEXEC, protocol));
}

bool waitFor(int fd, short events, int timeoutMs) {
  pollfd request{fd, events, 0};
  return ::poll(&request, 1, timeoutMs) == 1 && (request.revents & events);
}

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family = AF_INET;
};

std::optional<SocketAddress> socketAddress(const std::string& address, uint16_t port) {
  SocketAddress result;
  if (address.find(':') != std::string::npos) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&result.storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    if (::inet_pton(AF_INET6, address.c_str(), &in6->sin6_addr) != 1) return std::nullopt;
    result.length = sizeof *in6;
    result.family = AF_INET6;
  } else {
    auto* in4 = reinterpret_cast<sockaddr_in*>(&result.storage);
    in4->sin_family = AF_INET;
    in4->sin_port = htons(port);
    if (::inet_pton(AF_INET, address.c_str(), &in4->sin_addr) != 1) return std::nullopt;
    result.length = sizeof *in4;
  }
  return result;
}

uint16_t internetChecksum(const void* data, size_t length) {
  uint32_t sum = 0;
  const auto* bytes = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i + 1 < length; i += 2)
    sum += static_cast<uint32_t>(bytes[i] << 8 | bytes[i + 1]);
  if (length % 2) sum += static_cast<uint32_t>(bytes[length - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return htons(static_cast<uint16_t>(~sum));
}

} // namespace

std::optional<std::string> missingKernelSupport() {
  static const std::optional<std::string> missing = probeKernelSupport();
  return missing;
}

std::string randomTestPrefix() {
  std::random_device random;
  std::uniform_int_distribution<uint32_t> sixHexDigits(0, 0xffffff);
  char text[16];
  std::snprintf(text, sizeof text, "polc-t%06x", sixHexDigits(random));
  return text;
}

bool tcpConnects(const std::string& fromNs, const std::string& toNs, const std::string& toAddress,
                 uint16_t port, int timeoutMs) {
  auto target = socketAddress(toAddress, port);
  if (!target) return false;
  auto listener = socketInNamespace(toNs, target->family, SOCK_STREAM, 0);
  if (!listener.valid()) return false;
  int yes = 1;
  ::setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  auto any = socketAddress(target->family == AF_INET6 ? "::" : "0.0.0.0", port);
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&any->storage), any->length) != 0 ||
      ::listen(listener.get(), 4) != 0)
    return false;

  auto client = socketInNamespace(fromNs, target->family, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (!client.valid()) return false;
  int result =
      ::connect(client.get(), reinterpret_cast<sockaddr*>(&target->storage), target->length);
  if (result != 0 && errno != EINPROGRESS) return false;
  if (!waitFor(client.get(), POLLOUT, timeoutMs)) return false;
  int error = 0;
  socklen_t length = sizeof error;
  if (::getsockopt(client.get(), SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0)
    return false;

  // One byte each way proves the data path, not only the handshake.
  if (!waitFor(listener.get(), POLLIN, timeoutMs)) return false;
  UniqueFd server(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!server.valid() || ::send(client.get(), "p", 1, MSG_NOSIGNAL) != 1) return false;
  char byte = 0;
  if (!waitFor(server.get(), POLLIN, timeoutMs) || ::recv(server.get(), &byte, 1, 0) != 1)
    return false;
  if (::send(server.get(), "o", 1, MSG_NOSIGNAL) != 1) return false;
  if (!waitFor(client.get(), POLLIN, timeoutMs) || ::recv(client.get(), &byte, 1, 0) != 1)
    return false;
  return byte == 'o';
}

bool icmpEchoReplies(const std::string& fromNs, const std::string& toAddress, int timeoutMs) {
  auto target = socketAddress(toAddress, 0);
  if (!target || target->family != AF_INET) return false;
  auto raw = socketInNamespace(fromNs, AF_INET, SOCK_RAW, IPPROTO_ICMP);
  if (!raw.valid()) return false;

  std::random_device random;
  icmphdr request{};
  request.type = ICMP_ECHO;
  request.un.echo.id = static_cast<uint16_t>(random());
  request.un.echo.sequence = static_cast<uint16_t>(random());
  request.checksum = internetChecksum(&request, sizeof request);
  if (::sendto(raw.get(), &request, sizeof request, 0,
               reinterpret_cast<sockaddr*>(&target->storage), target->length) != sizeof request)
    return false;

  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !waitFor(raw.get(), POLLIN, static_cast<int>(left.count())))
      return false;
    unsigned char packet[1500];
    ssize_t length = ::recv(raw.get(), packet, sizeof packet, 0);
    if (length < static_cast<ssize_t>(sizeof(iphdr))) continue;
    const auto* ip = reinterpret_cast<const iphdr*>(packet);
    size_t headerLength = ip->ihl * 4u;
    if (static_cast<size_t>(length) < headerLength + sizeof(icmphdr)) continue;
    icmphdr reply;
    std::memcpy(&reply, packet + headerLength, sizeof reply);
    auto* expectedSource = reinterpret_cast<const sockaddr_in*>(&target->storage);
    if (reply.type == ICMP_ECHOREPLY && reply.un.echo.id == request.un.echo.id &&
        reply.un.echo.sequence == request.un.echo.sequence &&
        ip->saddr == expectedSource->sin_addr.s_addr)
      return true;
  }
}

} // namespace polc::testing
