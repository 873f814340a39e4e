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
// Thread-safe: handlers run on httplib's worker threads (`threads` of them).
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
  int threads = 64;          // HTTP worker threads (requests wait on the scheduler in them)
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
};

}  // namespace seer
