#include "core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace seer::log {

Status set_level(std::string_view level) {
  static const std::pair<std::string_view, spdlog::level::level_enum> kLevels[] = {
      {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},   {"warn", spdlog::level::warn},
      {"error", spdlog::level::err},   {"off", spdlog::level::off}};
  for (const auto& [name, value] : kLevels) {
    if (name == level) {
      // Logs go to stderr so that stdout stays clean for JSONL and --json output.
      static bool sink_set = [] {
        spdlog::set_default_logger(spdlog::stderr_color_mt("seer"));
        spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
        return true;
      }();
      (void)sink_set;
      spdlog::set_level(value);
      return {};
    }
  }
  return Status::invalid_argument("unknown log level '{}' (trace|debug|info|warn|error|off)", level);
}

}  // namespace seer::log

namespace seer {

std::string format_ram_line(std::string_view label, uint64_t process_rss_bytes,
                            uint64_t system_total_bytes, uint64_t system_available_bytes,
                            uint64_t ledger_bytes) {
  constexpr double kMiB = 1024.0 * 1024.0, kGiB = kMiB * 1024.0;
  const double used_pct =
      system_total_bytes == 0
          ? 0.0
          : 100.0 * static_cast<double>(system_total_bytes - system_available_bytes) /
                static_cast<double>(system_total_bytes);
  return fmt::format("[RAM] {}: Process={:.0f}MB | System={:.1f}% used, {:.1f}GB available | Ledger={:.0f}MB",
                     label, process_rss_bytes / kMiB, used_pct, system_available_bytes / kGiB,
                     ledger_bytes / kMiB);
}

}  // namespace seer
