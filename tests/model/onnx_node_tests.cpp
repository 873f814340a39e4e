// The ONNX project's backend node tests (Debian's libonnx-testdata): every test whose ops seer
// implements runs through the engine and is compared with the expected outputs shipped with the
// test (computed by the ONNX reference implementation, not by seer). Tests with an op, attribute
// or dtype seer does not implement are skipped (load fails with Unsupported); the counts print.
// Tolerance: |seer - expected| <= 1e-4 + 1e-4 * |expected| for floats; exact for ints and bools.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>

#include "engine/half.h"
#include "engine/kernels/bf16.h"
#include "engine/model.h"
#include "engine/onnx/onnx_import.h"

namespace seer::engine {
namespace {

namespace fs = std::filesystem;
constexpr double kAtol = 1e-4, kRtol = 1e-4;
const char* kNodeDir = "/usr/share/libonnx-testdata/data/node";

double element(const void* p, DataType t, int64_t i) {
  switch (t) {
    case DataType::kFloat32: return static_cast<const float*>(p)[i];
    case DataType::kFloat64: return static_cast<const double*>(p)[i];
    case DataType::kInt64: return static_cast<double>(static_cast<const int64_t*>(p)[i]);
    case DataType::kInt32: return static_cast<const int32_t*>(p)[i];
    case DataType::kInt16: return static_cast<const int16_t*>(p)[i];
    case DataType::kInt8: return static_cast<const int8_t*>(p)[i];
    case DataType::kUInt8: case DataType::kBool: return static_cast<const uint8_t*>(p)[i];
    case DataType::kUInt16: return static_cast<const uint16_t*>(p)[i];
    case DataType::kFloat16: return half_to_float(static_cast<const uint16_t*>(p)[i]);
    case DataType::kBFloat16: return kernels::bf16_to_f32(static_cast<const uint16_t*>(p)[i]);
    case DataType::kUInt32: return static_cast<const uint32_t*>(p)[i];
    case DataType::kUInt64: return static_cast<double>(static_cast<const uint64_t*>(p)[i]);
    default: return 0;
  }
}

// "" when equal within tolerance, else why not.
std::string compare(const Tensor& got, const NpyArray& want) {
  if (got.dtype != want.dtype)
    return fmt::format("dtype {} vs {}", to_string(got.dtype), to_string(want.dtype));
  if (!(got.shape == want.shape))
    return fmt::format("shape {} vs {}", got.shape.to_string(), want.shape.to_string());
  const bool fp = is_float(got.dtype);
  for (int64_t i = 0; i < got.numel(); ++i) {
    const double a = element(got.ptr, got.dtype, i), b = element(want.data.data(), want.dtype, i);
    if (fp && std::isnan(a) && std::isnan(b)) continue;
    if (fp && std::isinf(b) && a == b) continue;
    // float16/bfloat16 results are compared at their own precision.
    const double rel = got.dtype == DataType::kFloat16 ? 1e-3 : got.dtype == DataType::kBFloat16 ? 8e-3 : kRtol;
    const double tol = fp ? kAtol + rel * std::abs(b) : 0.0;
    if (!(std::abs(a - b) <= tol)) return fmt::format("element {}: {} vs expected {}", i, a, b);
  }
  return {};
}

enum class Outcome { kPass, kSkip, kFail };

// seer needs shape-like arguments (Reshape's shape, axes, Range bounds) at load; the node tests
// often pass them as graph inputs. bake 1: integer and scalar inputs become constants first;
// bake 2: every input after the first (Resize's float scales).
Outcome run_node_test(const fs::path& dir, int bake, std::string* why) {
  MemoryLedger ledger;
  ImportOptions io;
  io.ledger = &ledger;
  io.owner = dir.filename().string();
  auto imported = import_onnx((dir / "model.onnx").string(), io);
  if (!imported.ok()) {
    *why = imported.status().to_string();
    return imported.status().code() == StatusCode::kUnsupported ? Outcome::kSkip : Outcome::kFail;
  }
  const fs::path data = dir / "test_data_set_0";
  std::vector<NpyArray> inputs, expected;
  for (size_t i = 0; i < imported->graph.inputs.size(); ++i) {
    auto t = read_tensor_proto((data / fmt::format("input_{}.pb", i)).string());
    if (!t.ok()) {
      *why = "input: " + t.status().to_string();
      return Outcome::kSkip;  // optional / sequence inputs the test format stores differently
    }
    inputs.push_back(std::move(t).value());
  }
  for (size_t i = 0; i < imported->graph.outputs.size(); ++i) {
    auto t = read_tensor_proto((data / fmt::format("output_{}.pb", i)).string());
    if (!t.ok()) {
      *why = "output: " + t.status().to_string();
      return Outcome::kSkip;
    }
    expected.push_back(std::move(t).value());
  }
  // The test data stores bfloat16 tensors as uint16: take them as the model's dtype.
  for (size_t i = 0; i < inputs.size(); ++i) {
    const DataType want = imported->graph.values[imported->graph.inputs[i]].dtype;
    if (inputs[i].dtype != want && dtype_size(inputs[i].dtype) == dtype_size(want)) inputs[i].dtype = want;
  }
  LoadOptions opt;
  opt.ledger = &ledger;
  opt.owner = io.owner;
  std::vector<Tensor> in_tensors;
  Graph& g = imported->graph;
  std::vector<int> kept;
  for (size_t i = 0; i < inputs.size(); ++i) {
    NpyArray& a = inputs[i];
    if ((bake == 1 && (a.dtype == DataType::kInt64 || a.dtype == DataType::kInt32 || a.shape.rank() == 0)) ||
        (bake == 2 && i > 0)) {
      Value& v = g.values[g.inputs[i]];
      a.data.reserve(8);  // an empty axes list still needs a non-null constant pointer
      v.constant = a.data.data();
      v.shape = a.shape;
      v.shape_known = true;
      continue;
    }
    kept.push_back(g.inputs[i]);
    in_tensors.push_back(a.tensor());
    opt.input_shapes.push_back(a.shape);
  }
  g.inputs = kept;
  auto model = Model::from_graph(std::move(imported->graph), std::move(imported->weights), opt);
  if (!model.ok()) {
    *why = model.status().to_string();
    return model.status().code() == StatusCode::kUnsupported ? Outcome::kSkip : Outcome::kFail;
  }
  auto ctx = (*model)->create_context();
  if (!ctx.ok()) {
    *why = ctx.status().to_string();
    return Outcome::kFail;
  }
  std::vector<Tensor> out((*model)->outputs().size());
  Status st = (*model)->run(**ctx, in_tensors, out);
  if (!st.ok()) {
    *why = st.to_string();
    return st.code() == StatusCode::kUnsupported ? Outcome::kSkip : Outcome::kFail;
  }
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i].dtype != expected[i].dtype && dtype_size(out[i].dtype) == dtype_size(expected[i].dtype))
      expected[i].dtype = out[i].dtype;
    std::string diff = compare(out[i], expected[i]);
    if (!diff.empty()) {
      *why = fmt::format("output {} ('{}'): {}", i, (*model)->outputs()[i].name, diff);
      return Outcome::kFail;
    }
  }
  return Outcome::kPass;
}

TEST(OnnxNodeTests, ImplementedOpsMatchTheReference) {
  if (!fs::exists(kNodeDir)) GTEST_SKIP() << "libonnx-testdata is not installed";
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(kNodeDir))
    if (e.is_directory() && fs::exists(e.path() / "model.onnx")) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  const char* filter = std::getenv("SEER_NODE_TEST_FILTER");
  const bool verbose = std::getenv("SEER_NODE_TEST_VERBOSE") != nullptr;
  int pass = 0, skip = 0, fail = 0;
  std::string failures;
  for (const fs::path& d : dirs) {
    if (filter && d.filename().string().find(filter) == std::string::npos) continue;
    std::string why;
    Outcome r = run_node_test(d, 0, &why);
    for (int bake = 1; bake <= 2 && r == Outcome::kSkip && why.find("known at load") != std::string::npos; ++bake)
      r = run_node_test(d, bake, &why);
    switch (r) {
      case Outcome::kPass: ++pass; break;
      case Outcome::kSkip:
        ++skip;
        if (verbose) std::printf("SKIP %s: %s\n", d.filename().c_str(), why.c_str());
        break;
      case Outcome::kFail:
        ++fail;
        failures += d.filename().string() + ": " + why + "\n";
        break;
    }
  }
  std::printf("ONNX node tests: %d passed, %d skipped (not implemented), %d failed\n", pass, skip, fail);
  EXPECT_EQ(fail, 0) << failures;
  EXPECT_GT(pass, 0);
}

}  // namespace
}  // namespace seer::engine
