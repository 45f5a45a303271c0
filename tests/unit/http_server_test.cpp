// The metrics' HTTP server on loopback: what it answers, and that a client
// that says nothing cannot hold it.
#include "polc/support/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <thread>

namespace polc {
namespace {

TEST(ListenAddress, PortAloneMeansLoopback) {
  auto parsed = parseListenAddress("9090");
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_EQ(parsed->address, "127.0.0.1");
  EXPECT_EQ(parsed->port, 9090);
  parsed = parseListenAddress("[::1]:0");
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_EQ(parsed->address, "::1");
  EXPECT_EQ(parsed->port, 0);
  parsed = parseListenAddress("0.0.0.0:80");
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_EQ(parsed->address, "0.0.0.0");
}

TEST(ListenAddress, BadOnesSayWhy) {
  for (const char* bad : {"", "x", "127.0.0.1:", "127.0.0.1:65536", "::1:80", "host:80", "1.2.3:9"})
    EXPECT_FALSE(parseListenAddress(bad)) << bad;
  EXPECT_NE(parseListenAddress("::1:80").error().find("brackets"), std::string::npos);
  EXPECT_NE(parseListenAddress("127.0.0.1:70000").error().find("65535"), std::string::npos);
}

class HttpServerTest : public ::testing::Test {
protected:
  void SetUp() override {
    auto listening = HttpServer::listen({"127.0.0.1", 0});
    ASSERT_TRUE(listening) << listening.error();
    port = listening->port();
    ASSERT_NE(port, 0);
    server = std::thread([this, s = std::move(*listening)]() mutable {
      (void)s.serve(
          [](const std::string& path) {
            return path == "/metrics" ? HttpResponse{200, "text/plain", "polc_up 1\n"}
                                      : HttpResponse{404, "text/plain", "no\n"};
          },
          stop, std::chrono::milliseconds(300));
    });
  }
  void TearDown() override {
    stop = true;
    if (server.joinable()) server.join();
  }

  // Sends `request` and returns all the server sent back.
  std::string exchange(const std::string& request) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      ::close(fd);
      return "connect failed";
    }
    if (!request.empty()) (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    std::string reply;
    char buffer[1024];
    for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;)
      reply.append(buffer, size_t(n));
    ::close(fd);
    return reply;
  }

  std::atomic<bool> stop{false};
  std::thread server;
  uint16_t port = 0;
};

TEST_F(HttpServerTest, AnswersGetWithTheHandlersDocument) {
  auto reply = exchange("GET /metrics?x=1 HTTP/1.1\r\nHost: test\r\n\r\n");
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 200 OK\r\n")) << reply;
  EXPECT_NE(reply.find("Content-Length: 10\r\n"), std::string::npos) << reply;
  EXPECT_TRUE(reply.ends_with("\r\n\r\npolc_up 1\n")) << reply;
  reply = exchange("GET /other HTTP/1.0\r\n\r\n");
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 404 Not Found\r\n")) << reply;
}

TEST_F(HttpServerTest, HeadHasNoBodyAndOtherMethodsAreRefused) {
  auto reply = exchange("HEAD /metrics HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 200 OK\r\n")) << reply;
  EXPECT_TRUE(reply.ends_with("\r\n\r\n")) << reply;
  reply = exchange("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 405 ")) << reply;
  EXPECT_NE(reply.find("\r\nAllow: GET, HEAD\r\n"), std::string::npos) << reply;
  reply = exchange("nonsense\r\n\r\n");
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 400 ")) << reply;
}

TEST_F(HttpServerTest, ASilentClientIsDroppedAtItsDeadline) {
  auto silent = std::thread([this] { EXPECT_EQ(exchange(""), ""); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  // Served after the silent one's 300 ms are up, not never.
  auto reply = exchange("GET /metrics HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 200 OK\r\n")) << reply;
  silent.join();
}

TEST(HttpServer, APortInUseIsAnError) {
  auto first = HttpServer::listen({"127.0.0.1", 0});
  ASSERT_TRUE(first) << first.error();
  auto second = HttpServer::listen({"127.0.0.1", first->port()});
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().find("cannot listen on 127.0.0.1:"), std::string::npos)
      << second.error();
}

} // namespace
} // namespace polc
