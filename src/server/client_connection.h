// Whether the client of a request is still connected, for cancelling work nobody will read.
//
//   ClientConnection conn(req);                 // cheap: nothing is looked up yet
//   if (conn.closed()) job->cancel();           // the peer closed (FIN/RST) its end
//
// cpp-httplib 0.11 (Debian 12) gives handlers no socket and no "connection closed" flag, so the
// socket is found by its address pair: the accepted socket whose local port and peer address
// and port are the request's. The connection's socket stays open (and so keeps its number)
// while its handler runs, which makes the match unique and stable for the handler's lifetime.
// The search runs on the first closed() call only, so a request answered before its handler
// ever asks pays nothing. When no socket matches (not expected), closed() is always false: the
// job just runs. Not thread-safe (one handler thread uses it); `req` must outlive it.
#pragma once

#include <httplib.h>

namespace seer {

class ClientConnection {
 public:
  explicit ClientConnection(const httplib::Request& req) : req_(req) {}
  // True once the peer has closed or reset the connection (a half-close counts: an HTTP client
  // that shuts down its sending side is not waiting for this answer either).
  bool closed();

 private:
  void find_socket();

  const httplib::Request& req_;
  bool searched_ = false;
  int fd_ = -1;
};

}  // namespace seer
