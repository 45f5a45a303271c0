#include "polc/support/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace polc {
namespace {

using Clock = std::chrono::steady_clock;

std::string errnoText(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

// Waits for `events` on fd until the deadline; false on timeout or error.
bool waitFor(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd entry{fd, events, 0};
    const int ready = ::poll(&entry, 1, int(left));
    if (ready > 0) return true;
    if (ready < 0 && errno != EINTR) return false;
  }
}

const char* reasonPhrase(int status) {
  switch (status) {
  case 200:
    return "OK";
  case 400:
    return "Bad Request";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 500:
    return "Internal Server Error";
  default:
    return "Unknown";
  }
}

void answer(int fd, const HttpResponse& response, bool head, Clock::time_point deadline) {
  std::string text = "HTTP/1.1 " + std::to_string(response.status) + " " +
                     reasonPhrase(response.status) + "\r\nContent-Type: " + response.contentType +
                     "\r\nContent-Length: " + std::to_string(response.body.size()) +
                     // RFC 9110 15.5.6: a 405 says which methods the target takes.
                     (response.status == 405 ? "\r\nAllow: GET, HEAD" : "") +
                     "\r\nConnection: close\r\n\r\n";
  if (!head) text += response.body;
  size_t sent = 0;
  while (sent < text.size() && waitFor(fd, POLLOUT, deadline)) {
    const ssize_t n = ::send(fd, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    sent += size_t(n);
  }
}

// Reads one request's head and answers it.
void handle(int fd, const HttpServer::Handler& handler, Clock::time_point deadline) {
  constexpr size_t kMaxHead = 8192;
  std::string head;
  while (head.find("\r\n\r\n") == std::string::npos) {
    if (head.size() > kMaxHead)
      return answer(fd, {400, "text/plain", "request too long\n"}, false, deadline);
    if (!waitFor(fd, POLLIN, deadline)) return;
    char buffer[2048];
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    head.append(buffer, size_t(n));
  }
  // Request line: METHOD SP TARGET SP VERSION
  const auto lineEnd = head.find("\r\n");
  const std::string_view line(head.data(), lineEnd);
  const auto firstSpace = line.find(' ');
  const auto secondSpace =
      firstSpace == std::string_view::npos ? firstSpace : line.find(' ', firstSpace + 1);
  if (secondSpace == std::string_view::npos || !line.substr(secondSpace + 1).starts_with("HTTP/"))
    return answer(fd, {400, "text/plain", "bad request line\n"}, false, deadline);
  const auto method = line.substr(0, firstSpace);
  auto target = line.substr(firstSpace + 1, secondSpace - firstSpace - 1);
  if (auto query = target.find('?'); query != std::string_view::npos)
    target = target.substr(0, query);
  if (method != "GET" && method != "HEAD")
    return answer(fd, {405, "text/plain", "only GET and HEAD\n"}, false, deadline);
  answer(fd, handler(std::string(target)), method == "HEAD", deadline);
}

} // namespace

Expected<ListenAddress> parseListenAddress(std::string_view text) {
  ListenAddress listen{"127.0.0.1", 0};
  std::string_view port = text;
  if (const auto colon = text.rfind(':'); colon != std::string_view::npos) {
    auto address = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (address.starts_with('[') && address.ends_with(']'))
      address = address.substr(1, address.size() - 2);
    else if (address.find(':') != std::string_view::npos)
      return Error{"\"" + std::string(text) + "\": write an IPv6 address in brackets, [::1]:9090"};
    listen.address = std::string(address);
  }
  unsigned value = 0;
  const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || error != std::errc() || end != port.data() + port.size() || value > 65535)
    return Error{"\"" + std::string(text) +
                 "\": the port must be a number from 0 (any free port) to 65535"};
  listen.port = uint16_t(value);
  in6_addr v6{};
  in_addr v4{};
  if (inet_pton(AF_INET, listen.address.c_str(), &v4) != 1 &&
      inet_pton(AF_INET6, listen.address.c_str(), &v6) != 1)
    return Error{"\"" + std::string(text) + "\": " + listen.address +
                 " is not an IPv4 or IPv6 address"};
  return listen;
}

Expected<HttpServer> HttpServer::listen(const ListenAddress& where) {
  sockaddr_storage storage{};
  socklen_t length = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET, where.address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(where.port);
    length = sizeof *v4;
  } else if (inet_pton(AF_INET6, where.address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(where.port);
    length = sizeof *v6;
  } else {
    return Error{where.address + " is not an IPv4 or IPv6 address"};
  }
  const std::string name =
      (storage.ss_family == AF_INET6 ? "[" + where.address + "]" : where.address) + ":" +
      std::to_string(where.port);
  UniqueFd socket(::socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!socket.valid()) return Error{errnoText("socket")};
  const int on = 1;
  ::setsockopt(socket.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (::bind(socket.get(), reinterpret_cast<sockaddr*>(&storage), length) != 0)
    return Error{errnoText("cannot listen on " + name)};
  if (::listen(socket.get(), 16) != 0) return Error{errnoText("cannot listen on " + name)};
  sockaddr_storage bound{};
  socklen_t boundLength = sizeof bound;
  if (::getsockname(socket.get(), reinterpret_cast<sockaddr*>(&bound), &boundLength) != 0)
    return Error{errnoText("getsockname")};
  const uint16_t port =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return HttpServer(std::move(socket), port);
}

Status HttpServer::serve(const Handler& handler, const std::atomic<bool>& stop,
                         std::chrono::milliseconds perConnection) {
  while (!stop) {
    pollfd entry{socket_.get(), POLLIN, 0};
    const int ready = ::poll(&entry, 1, 100);
    if (ready < 0 && errno != EINTR) return Error{errnoText("poll")};
    if (ready <= 0) continue;
    UniqueFd client(::accept4(socket_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!client.valid()) continue; // gone before we took it, or out of fds for a moment
    handle(client.get(), handler, Clock::now() + perConnection);
  }
  return okStatus();
}

} // namespace polc
