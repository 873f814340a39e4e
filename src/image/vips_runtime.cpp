#include "image/vips_runtime.h"

#include <vips/vips.h>

#include <mutex>

#include "core/log.h"

namespace seer {
namespace {

// libvips (through GLib) prints warnings about damaged-but-decodable files to stderr; a server
// tagging a user's whole gallery should log them at debug level instead.
void route_vips_log(const gchar* domain, GLogLevelFlags level, const gchar* message, gpointer) {
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)) {
    log::warn("{}: {}", domain ? domain : "vips", message ? message : "");
  } else {
    log::debug("{}: {}", domain ? domain : "vips", message ? message : "");
  }
}

}  // namespace

Status ensure_vips_started() {
  static std::once_flag once;
  static Status result;
  std::call_once(once, [] {
    if (VIPS_INIT("seer") != 0) {
      result = vips_failure(StatusCode::kInternal, "starting libvips");
      return;
    }
    // The operation cache would keep recently decoded images (and their pixel buffers) alive
    // after the caller is done with them: memory would creep with every distinct upload.
    g_log_set_handler("VIPS", static_cast<GLogLevelFlags>(G_LOG_LEVEL_MASK), route_vips_log,
                      nullptr);
    vips_cache_set_max(0);
    vips_cache_set_max_mem(0);
    vips_cache_set_max_files(0);
    // One thread per pipeline: decodes run on seer's image pool, one image per worker.
    vips_concurrency_set(1);
    // Loaders libvips flags as unsafe for untrusted input (ImageMagick, PDF, SVG, FITS, raw,
    // matrix, ...) are refused even if called by name. BMP goes through ImageMagick, so that
    // one loader is re-allowed; decoder.cpp only calls it for data that starts with "BM".
    vips_block_untrusted_set(TRUE);
    vips_operation_block_set("VipsForeignLoadMagick", FALSE);
  });
  return result;
}

Status vips_failure(StatusCode code, std::string_view context) {
  char* raw = vips_error_buffer_copy();
  std::string message = raw ? raw : "";
  g_free(raw);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  for (char& c : message) {
    if (c == '\n') c = ';';
  }
  if (message.empty()) message = "libvips reported no detail";
  return Status(code, std::string(context) + ": " + message);
}

}  // namespace seer
