#include "memory/device.h"

#include <fmt/format.h>

#include "memory/probes.h"

namespace seer {

std::string_view to_string(DeviceKind kind) {
  switch (kind) {
    case DeviceKind::kCpu: return "cpu";
    case DeviceKind::kSimulated: return "sim";
    case DeviceKind::kCuda: return "cuda";
  }
  return "?";
}

std::string DeviceId::to_string() const { return fmt::format("{}:{}", seer::to_string(kind), index); }

Device Device::cpu() {
  return Device{{DeviceKind::kCpu, 0}, "CPU", read_system_memory().total_bytes};
}

Device Device::simulated(int index, uint64_t capacity_bytes) {
  return Device{{DeviceKind::kSimulated, index}, fmt::format("simulated-{}", index), capacity_bytes};
}

}  // namespace seer
