// The HTTP server (cpp-httplib): binds, authenticates, routes, adds the memory headers, maps
// errors, records metrics. Route handlers live in routes_*.cpp, one file per concern.
//
//   HttpServer server(ctx, {.host = "127.0.0.1", .port = 2020, .api_key = key});
//   SEER_RETURN_IF_ERROR(server.bind());   // port 0 picks a free one: server.port()
//   std::thread t([&] { server.run(); });  // returns after stop(), once in-flight requests finish
//   server.stop();
//
// Every response carries X-VRAM-Used / X-VRAM-Total (MB of the accelerator's budget; with no
// accelerator, of the CPU memory budget: used = ledger bytes in use + reserved on the CPU,
// total = its budget), X-RAM-Used (process RSS, MB) and X-RAM-Total (MemTotal, MB). Inference
// routes add X-Inference-Time (ms, queue + run). With an API key every route but /health needs
// `Authorization: Bearer <key>` (else 401 {"error": {"code": "Unauthenticated", ...}}).
// Connections: one thread per open connection (ConnectionPool, up to `max_connections`, started
// on demand), a listen backlog of `listen_backlog`, and a connection is kept alive for up to
// `keep_alive_requests` requests and `keep_alive_idle_s` between them. cpp-httplib 0.11's
// defaults (a fixed pool, backlog 5, 5 requests per connection) made bursts of clients wait
// for SYN retransmits and for other connections to close (see http_server.cpp).
// Thread-safe: handlers run on the connection threads.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "server/server_context.h"

namespace httplib {
class Server;
}

namespace seer {

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 2020;           // 0: any free port
  std::string api_key;       // empty: no authentication
  bool insecure = false;     // allow a non-loopback bind without an API key
  int max_connections = 1024;      // connections served at once (one thread each, started on demand)
  int listen_backlog = 1024;       // accepted-but-not-yet-taken connections the kernel holds
  int keep_alive_requests = 100000;  // requests on one connection before the server closes it
  int keep_alive_idle_s = 5;       // an idle connection is closed after this (bounds the SIGTERM drain)
};

// True for 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(const std::string& host);

class HttpServer {
 public:
  HttpServer(ServerContext& ctx, HttpOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Checks the bind policy (non-loopback needs an API key or `insecure`) and binds.
  Status bind();
  int port() const { return port_; }
  // Serves until stop(); in-flight requests finish before it returns.
  void run();
  void stop();
  bool running() const;

 private:
  void install_routes();

  ServerContext& ctx_;
  HttpOptions options_;
  std::unique_ptr<httplib::Server> http_;
  int port_ = 0;
  int listen_fd_ = -1;  // the listening socket, from httplib's socket-options hook
};

}  // namespace seer
