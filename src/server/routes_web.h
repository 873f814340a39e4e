// The status page routes: GET / and GET /status serve web/index.html, GET /web/<file> the rest
// of web/ (from the binary, see web_assets.h). The page itself holds no data, so these routes are
// public even with --api-key; the page sends the key to the data routes it polls.
//
//   register_web_routes(http);                  // in register_system_routes
//   if (is_public_web_path(req.path)) ...       // the auth check lets these through
//
// Responses carry Cache-Control: no-cache and a Content-Security-Policy that allows only 'self'.
// Thread-safe (no state).
#pragma once

#include <string_view>

namespace httplib {
class Server;
}

namespace seer {

void register_web_routes(httplib::Server& http);
// True for the paths register_web_routes serves.
bool is_public_web_path(std::string_view path);

}  // namespace seer
