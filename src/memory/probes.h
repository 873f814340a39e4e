// What the OS says about memory: this process (/proc/self/statm) and the system (/proc/meminfo).
// These are the ground truth the ledger is checked against.
#pragma once

#include <cstdint>
#include <string>

namespace seer {

struct ProcessMemory {
  uint64_t rss_bytes = 0;      // resident set size
  uint64_t virtual_bytes = 0;  // virtual size
};

struct SystemMemory {
  uint64_t total_bytes = 0;      // MemTotal
  uint64_t available_bytes = 0;  // MemAvailable
  double used_percent() const;
};

// Zeroes when /proc is unreadable (never fails: callers only log and compare).
ProcessMemory read_process_memory();
SystemMemory read_system_memory();
// Peak RSS of this process (VmHWM from /proc/self/status).
uint64_t read_peak_rss_bytes();

class MemoryLedger;
// "[RAM] <label>: Process=<MB>MB | System=<pct>% used, <GB>GB available | Ledger=<MB>MB"
// with the live probes and the ledger's total; also logged at info level by log_ram().
std::string ram_line(const std::string& label, const MemoryLedger& ledger);
void log_ram(const std::string& label, const MemoryLedger& ledger);

}  // namespace seer
