// libvips start-up and error plumbing, shared by the image layer.
//
//   SEER_RETURN_IF_ERROR(ensure_vips_started());   // cheap after the first call
//   if (vips_something(...)) return vips_failure(StatusCode::kInvalidArgument, "decoding x");
//
// ensure_vips_started() runs VIPS_INIT once per process (thread-safe) and sets the process-wide
// policy: the operation cache off (so decoded pixels never linger in it and memory stays flat),
// one worker thread per pipeline (the image pool parallelises across images instead), and
// loaders that libvips marks untrusted blocked, except ImageMagick, which decoder.cpp calls
// only for BMP data.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace seer {

Status ensure_vips_started();

// Takes (and clears) libvips's error buffer and wraps it: "<context>: <libvips message>".
Status vips_failure(StatusCode code, std::string_view context);

}  // namespace seer
