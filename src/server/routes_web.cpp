// GET / and /status (the status page), GET /web/<file> (its script, style and icon).
#include "server/routes_web.h"

#include <httplib.h>

#include <string>

#include "server/web_assets.h"

namespace seer {

namespace {

constexpr std::string_view kIndex = "index.html";
constexpr std::string_view kPrefix = "/web/";

// Only this server's own files: no inline script or style, no other origin, no framing.
constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const WebAsset* find_asset(std::string_view name) {
  for (const WebAsset& a : web_assets()) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

// The asset a request path names, or nullptr.
const WebAsset* asset_for_path(std::string_view path) {
  if (path == "/" || path == "/status") return find_asset(kIndex);
  if (path.starts_with(kPrefix)) return find_asset(path.substr(kPrefix.size()));
  return nullptr;
}

void serve(const httplib::Request& req, httplib::Response& res) {
  const WebAsset* a = asset_for_path(req.path);
  if (a == nullptr) {
    res.status = 404;  // the server's error handler writes the JSON body
    return;
  }
  // no-cache: the browser revalidates, so a new binary's page is never mixed with an old script.
  res.set_header("Cache-Control", "no-cache");
  res.set_header("Content-Security-Policy", kContentSecurityPolicy);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_content(std::string(a->body), std::string(a->content_type));
}

}  // namespace

bool is_public_web_path(std::string_view path) { return asset_for_path(path) != nullptr; }

void register_web_routes(httplib::Server& http) {
  http.Get("/", serve);
  http.Get("/status", serve);
  http.Get(R"(/web/[A-Za-z0-9._-]+)", serve);
}

}  // namespace seer
