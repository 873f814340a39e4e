#include "memory/probes.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "core/log.h"
#include "memory/ledger.h"

namespace seer {

double SystemMemory::used_percent() const {
  if (total_bytes == 0) return 0.0;
  return 100.0 * static_cast<double>(total_bytes - available_bytes) / static_cast<double>(total_bytes);
}

ProcessMemory read_process_memory() {
  ProcessMemory m;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return m;
  unsigned long long size = 0, resident = 0;
  if (std::fscanf(f, "%llu %llu", &size, &resident) == 2) {
    const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    m.virtual_bytes = size * page;
    m.rss_bytes = resident * page;
  }
  std::fclose(f);
  return m;
}

namespace {
// Reads "<key>: <n> kB" from a /proc file; returns bytes or 0.
uint64_t read_kb_field(const char* path, const char* key) {
  std::ifstream in(path);
  std::string line;
  const size_t key_len = std::strlen(key);
  while (std::getline(in, line)) {
    if (line.compare(0, key_len, key) == 0 && line.size() > key_len && line[key_len] == ':') {
      return std::strtoull(line.c_str() + key_len + 1, nullptr, 10) * 1024;
    }
  }
  return 0;
}
}  // namespace

SystemMemory read_system_memory() {
  return SystemMemory{read_kb_field("/proc/meminfo", "MemTotal"),
                      read_kb_field("/proc/meminfo", "MemAvailable")};
}

uint64_t read_peak_rss_bytes() { return read_kb_field("/proc/self/status", "VmHWM"); }

std::string ram_line(const std::string& label, const MemoryLedger& ledger) {
  const SystemMemory sys = read_system_memory();
  return format_ram_line(label, read_process_memory().rss_bytes, sys.total_bytes, sys.available_bytes,
                         ledger.total_bytes());
}

void log_ram(const std::string& label, const MemoryLedger& ledger) {
  log::info("{}", ram_line(label, ledger));
}

}  // namespace seer
