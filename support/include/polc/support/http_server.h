// A small HTTP/1.1 server for `polc metrics --listen`: a scrape is one GET
// of one small document, so it serves one connection at a time and closes
// it after the response, with a deadline per connection so that a slow or
// silent client cannot hold it. Not cpp-httplib: linking it (and the
// OpenSSL, zlib and brotli it pulls in as shared libraries) costs every
// polc command ~3.5 ms of start-up, measured, most of a table-only load.
#pragma once

#include "polc/support/expected.h"
#include "polc/support/unique_fd.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace polc {

struct HttpResponse {
  int status = 200; // 200, 404, 500...
  std::string contentType = "text/plain; charset=utf-8";
  std::string body;
};

// ADDR:PORT, [IPV6]:PORT or PORT (then 127.0.0.1); the address a literal;
// port 0: any free port.
struct ListenAddress {
  std::string address;
  uint16_t port = 0;
};
Expected<ListenAddress> parseListenAddress(std::string_view text);

class HttpServer {
public:
  // Binds and listens; port 0 takes a free port (port() says which).
  static Expected<HttpServer> listen(const ListenAddress&);

  uint16_t port() const { return port_; }

  // Answers GET and HEAD with handler(path) (the query string cut off;
  // other methods get 405) until `stop` is set, which it checks at least
  // every 100 ms. Errors of one connection end that connection only.
  using Handler = std::function<HttpResponse(const std::string& path)>;
  Status serve(const Handler&, const std::atomic<bool>& stop,
               std::chrono::milliseconds perConnection = std::chrono::seconds(5));

private:
  HttpServer(UniqueFd socket, uint16_t port) : socket_(std::move(socket)), port_(port) {}
  UniqueFd socket_;
  uint16_t port_ = 0;
};

} // namespace polc
