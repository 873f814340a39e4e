// The status page's files (web/ in the source tree), embedded in the binary at build time by
// cmake/embed_web.cmake, which generates the definition of web_assets().
//
//   for (const WebAsset& a : web_assets()) std::cout << a.name << " " << a.body.size() << "\n";
//
// The bytes are static, read-only and live for the whole process; thread-safe.
#pragma once

#include <span>
#include <string_view>

namespace seer {

struct WebAsset {
  std::string_view name;          // file name under web/, e.g. "status.js"
  std::string_view content_type;  // e.g. "text/javascript; charset=utf-8"
  std::string_view body;
};

std::span<const WebAsset> web_assets();

}  // namespace seer
