// Parsing of human-written sizes and durations used by config, flags and requests.
//   parse_bytes("12GiB") == 12 << 30;  parse_bytes("1.5G") == 1.5 * 2^30;  parse_bytes("4096") == 4096
//   parse_duration_seconds("5m") == 300; "-1" == -1 (never); "0" == 0; "90s", "2h", "250ms" (rounds up)
#pragma once

#include <cstdint>
#include <string_view>

#include "core/status.h"

namespace seer {

// Suffixes (case-insensitive): B, K/KB/KiB, M/MB/MiB, G/GB/GiB, T/TB/TiB, all binary (2^10).
StatusOr<uint64_t> parse_bytes(std::string_view text);
// Suffixes: ms, s, m, h; no suffix means seconds. Negative means "never" and gives -1.
StatusOr<int64_t> parse_duration_seconds(std::string_view text);

}  // namespace seer
