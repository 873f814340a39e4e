// Devices that hold memory: the CPU, and a capacity-limited simulated device for tests.
//
//   Device cpu = Device::cpu();                       // capacity = MemTotal
//   Device sim = Device::simulated(0, 64 << 20);      // 64 MiB, host-backed, for tests
//
// A Device is a small value (kind, index, name, capacity); the ledger keys its counters and
// budgets by DeviceId. CUDA devices join later as another kind.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace seer {

enum class DeviceKind : uint8_t { kCpu, kSimulated, kCuda };
std::string_view to_string(DeviceKind kind);

struct DeviceId {
  DeviceKind kind = DeviceKind::kCpu;
  int index = 0;
  auto operator<=>(const DeviceId&) const = default;
  std::string to_string() const;  // "cpu:0", "sim:1"
};

struct Device {
  DeviceId id;
  std::string name;
  uint64_t capacity_bytes = 0;  // physical capacity (MemTotal for the CPU)

  static Device cpu();
  // Host memory accounted as a separate device of fixed capacity: lets tests exercise budgets,
  // eviction and ResourceExhausted without needing a machine of that size.
  static Device simulated(int index, uint64_t capacity_bytes);
};

}  // namespace seer
