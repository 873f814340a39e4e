// A minimal .npy (NumPy format 1.0) writer for float32 arrays, little-endian, C order.
//
//   std::vector<float> t(1 * 448 * 448 * 3);
//   SEER_RETURN_IF_ERROR(write_npy_f32("x.npy", t, {1, 448, 448, 3}));
//
// numpy.load reads the result back with dtype '<f4' and the given shape. (If the engine grows
// its own npy reader/writer, this one can go.) Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"

namespace seer {

// The header and data as bytes (for tests and for callers that write elsewhere).
std::string npy_f32_bytes(std::span<const float> data, const std::vector<int64_t>& shape);
// InvalidArgument when the element count does not match the shape; Internal on I/O failure.
Status write_npy_f32(const std::string& path, std::span<const float> data,
                     const std::vector<int64_t>& shape);

}  // namespace seer
