// Logging: spdlog behind a tiny facade, so the rest of seer never names spdlog.
//
//   log::set_level("debug");               // trace | debug | info | warn | error | off
//   log::info("loaded {} in {} ms", id, ms);
//
// The [RAM] line has one format everywhere (DESIGN.md, memory model); memory/probes.h
// fills it with live numbers: log_ram("load end wd14", ledger).
#pragma once

#include <spdlog/spdlog.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace seer::log {

// Accepts trace, debug, info, warn, error, off; anything else is InvalidArgument.
Status set_level(std::string_view level);

template <typename... Args>
void trace(fmt::format_string<Args...> f, Args&&... args) { spdlog::trace(f, std::forward<Args>(args)...); }
template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) { spdlog::debug(f, std::forward<Args>(args)...); }
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) { spdlog::info(f, std::forward<Args>(args)...); }
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) { spdlog::warn(f, std::forward<Args>(args)...); }
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) { spdlog::error(f, std::forward<Args>(args)...); }

}  // namespace seer::log

namespace seer {

// "[RAM] <label>: Process=<MB>MB | System=<pct>% used, <GB>GB available | Ledger=<MB>MB"
// MB = 2^20 bytes, GB = 2^30 bytes; percent with one decimal.
std::string format_ram_line(std::string_view label, uint64_t process_rss_bytes,
                            uint64_t system_total_bytes, uint64_t system_available_bytes,
                            uint64_t ledger_bytes);

}  // namespace seer
