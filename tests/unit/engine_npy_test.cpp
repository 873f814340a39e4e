// The engine's .npy writer against what numpy itself writes (the header bytes of np.save).
#include "engine/npy.h"

#include <gtest/gtest.h>

#include <cstring>

namespace seer {
namespace {

TEST(EngineNpy, HeaderIsWhatNumpyWrites) {
  const float v[6] = {1, 2, 3, 4, 5, 6};
  const std::string b = engine::encode_npy(engine::Tensor(engine::DataType::kFloat32, engine::Shape{1, 2, 3}, v));
  // numpy 1.24: np.save of a (1,2,3) float32 array writes exactly this 128-byte header.
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3), }";
  ASSERT_EQ(b.size(), 128u + sizeof v);
  EXPECT_EQ(b.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  EXPECT_EQ(static_cast<uint8_t>(b[8]) | (static_cast<uint8_t>(b[9]) << 8), 118);
  EXPECT_EQ(b.substr(10, dict.size()), dict);
  EXPECT_EQ(b[127], '\n');
  EXPECT_EQ(0, std::memcmp(b.data() + 128, v, sizeof v));
  EXPECT_EQ(engine::encode_npy(engine::Tensor(engine::DataType::kFloat32, engine::Shape{3}, v)).substr(10).find("'shape': (3,), }"),
            41u);
}

}  // namespace
}  // namespace seer
