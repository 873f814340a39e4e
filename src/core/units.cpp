#include "core/units.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <string>

namespace seer {

namespace {
std::string lower_trimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Splits "12.5gib" into 12.5 and "gib"; fails when there is no leading number.
bool split_number(const std::string& s, double* number, std::string* suffix) {
  const char* begin = s.data();
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(begin, end, *number);
  if (ec != std::errc() || ptr == begin) return false;
  *suffix = std::string(ptr, end);
  while (!suffix->empty() && suffix->front() == ' ') suffix->erase(0, 1);
  return std::isfinite(*number);
}
}  // namespace

StatusOr<uint64_t> parse_bytes(std::string_view text) {
  const std::string s = lower_trimmed(text);
  double n = 0;
  std::string suffix;
  if (!split_number(s, &n, &suffix) || n < 0) {
    return Status::invalid_argument("'{}' is not a size (examples: 4096, 512MiB, 12GiB)", text);
  }
  double mult = 0;
  if (suffix.empty() || suffix == "b") mult = 1;
  else if (suffix == "k" || suffix == "kb" || suffix == "kib") mult = 1024.0;
  else if (suffix == "m" || suffix == "mb" || suffix == "mib") mult = 1024.0 * 1024;
  else if (suffix == "g" || suffix == "gb" || suffix == "gib") mult = 1024.0 * 1024 * 1024;
  else if (suffix == "t" || suffix == "tb" || suffix == "tib") mult = 1024.0 * 1024 * 1024 * 1024;
  else return Status::invalid_argument("'{}': unknown size unit '{}' (B, KiB, MiB, GiB, TiB)", text, suffix);
  const double bytes = n * mult;
  if (bytes > 1.8e19) return Status::invalid_argument("'{}' is too large", text);
  return static_cast<uint64_t>(std::llround(bytes));
}

StatusOr<int64_t> parse_duration_seconds(std::string_view text) {
  const std::string s = lower_trimmed(text);
  double n = 0;
  std::string suffix;
  if (!split_number(s, &n, &suffix)) {
    return Status::invalid_argument("'{}' is not a duration (examples: 0, 90s, 5m, 2h, -1)", text);
  }
  if (n < 0) return int64_t{-1};
  double seconds = 0;
  if (suffix.empty() || suffix == "s") seconds = n;
  else if (suffix == "ms") seconds = n / 1000.0;
  else if (suffix == "m") seconds = n * 60;
  else if (suffix == "h") seconds = n * 3600;
  else return Status::invalid_argument("'{}': unknown duration unit '{}' (ms, s, m, h)", text, suffix);
  return static_cast<int64_t>(std::ceil(seconds));
}

}  // namespace seer
