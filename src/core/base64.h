// Standard base64 (RFC 4648, '+' '/', '=' padding) and data URIs.
//   SEER_ASSIGN_OR_RETURN(std::string bytes, base64_decode(text));            // strict
//   SEER_ASSIGN_OR_RETURN(std::string bytes, decode_data_uri_or_base64(s));   // "data:image/png;base64,..." or raw
// Whitespace (line breaks from MIME encoders) is skipped; URL-safe '-' '_' are accepted;
// missing padding is accepted; any other character is InvalidArgument naming its offset.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace seer {

std::string base64_encode(std::string_view bytes);
StatusOr<std::string> base64_decode(std::string_view text);
// Accepts a data URI ("data:<mime>;base64,<payload>") or bare base64.
StatusOr<std::string> decode_data_uri_or_base64(std::string_view text);

}  // namespace seer
