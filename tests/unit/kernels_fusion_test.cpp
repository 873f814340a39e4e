// The kernels helper's fusions (engine/passes/fuse_kernels.h): which subgraphs become
// seer.FusedMatMul / seer.Attention, with which inputs and scale, and which are left alone.
// (Numerics of the fused ops are covered by the kernel tests against naive loops.)
#include "engine/passes/fuse_kernels.h"

#include <gtest/gtest.h>

#include <cmath>

#include "engine/fused_ops.h"

namespace seer::engine {
namespace {

const float kBias[4] = {1, 2, 3, 4};
const float kWeights[8 * 4] = {};
const float kEight = 8.f;
const float kQuarter = 0.25f;

int constant(Graph& g, const char* name, Shape shape, const float* data) {
  int v = g.add_value(name, DataType::kFloat32, shape, true);
  g.values[v].constant = data;
  return v;
}

const Node* only_live(const Graph& g, const char* op) {
  const Node* found = nullptr;
  for (const Node& n : g.nodes)
    if (!n.dead && n.op_type == op) {
      if (found) return nullptr;
      found = &n;
    }
  return found;
}

TEST(KernelsFusion, MatMulAddReluBecomesFusedMatMul) {
  Graph g;
  int x = g.add_value("x", DataType::kFloat32, {kDynamicDim, 5, 8}, true);
  int w = constant(g, "w", {8, 4}, kWeights);
  int b = constant(g, "b", {4}, kBias);
  int mm = g.add_value("mm"), add = g.add_value("add"), y = g.add_value("y");
  g.add_node("MatMul", "", 17, {x, w}, {mm});
  g.add_node("Add", "", 17, {b, mm}, {add});  // bias first: either order fuses
  g.add_node("Relu", "", 17, {add}, {y});
  g.inputs = {x};
  g.outputs = {y};
  ASSERT_TRUE(g.finalize().ok());
  int count = 0;
  ASSERT_TRUE(fuse_matmul_bias(g, &count).ok());
  EXPECT_EQ(count, 1);
  ASSERT_EQ(g.nodes.size(), 1u);
  const Node& f = g.nodes[0];
  EXPECT_EQ(f.op_type, "FusedMatMul");
  EXPECT_EQ(f.domain, kSeerDomain);
  EXPECT_EQ(f.inputs, (std::vector<int>{x, w, b}));
  EXPECT_EQ(f.outputs, (std::vector<int>{y}));
  EXPECT_EQ(f.attr_string("activation"), "relu");
}

TEST(KernelsFusion, ResidualAddBecomesTheFourthInput) {
  Graph g;
  int x = g.add_value("x", DataType::kFloat32, {kDynamicDim, 5, 8}, true);
  int skip = g.add_value("skip", DataType::kFloat32, {kDynamicDim, 5, 4}, true);
  int w = constant(g, "w", {8, 4}, kWeights);
  int b = constant(g, "b", {4}, kBias);
  int mm = g.add_value("mm"), add = g.add_value("add"), y = g.add_value("y");
  g.add_node("MatMul", "", 17, {x, w}, {mm});
  g.add_node("Add", "", 17, {mm, b}, {add});
  g.add_node("Add", "", 17, {skip, add}, {y});  // the skip connection, either order
  g.inputs = {x, skip};
  g.outputs = {y};
  ASSERT_TRUE(g.finalize().ok());
  int count = 0;
  ASSERT_TRUE(fuse_matmul_bias(g, &count).ok());
  EXPECT_EQ(count, 1);
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].op_type, "FusedMatMul");
  EXPECT_EQ(g.nodes[0].inputs, (std::vector<int>{x, w, b, skip}));
  EXPECT_EQ(g.nodes[0].outputs, (std::vector<int>{y}));
}

TEST(KernelsFusion, ViTQkvAttentionBlockBecomesOneNode) {
  static const int64_t kSplit[3] = {1, 1, 1};
  static const int64_t kAxis0[1] = {0};
  Graph g;
  int x = g.add_value("x", DataType::kFloat32, {1, 5, 3, 2, 8}, true);
  int split_sizes = g.add_value("split", DataType::kInt64, {3}, true);
  g.values[split_sizes].constant = kSplit;
  int axes = g.add_value("axes", DataType::kInt64, {1}, true);
  g.values[axes].constant = kAxis0;
  int scale = constant(g, "scale", {}, &kQuarter);
  int t = g.add_value("t"), s0 = g.add_value("s0"), s1 = g.add_value("s1"), s2 = g.add_value("s2"),
      q = g.add_value("q"), k = g.add_value("k"), v = g.add_value("v"), kt = g.add_value("kt"),
      sc = g.add_value("sc"), ss = g.add_value("ss"), p = g.add_value("p"), o = g.add_value("o"),
      y = g.add_value("y");
  g.add_node("Transpose", "", 13, {x}, {t});
  g.nodes.back().set_attr_ints("perm", {2, 0, 3, 1, 4});
  g.add_node("Split", "", 13, {t, split_sizes}, {s0, s1, s2});
  g.nodes.back().set_attr_int("axis", 0);
  g.add_node("Squeeze", "", 13, {s0, axes}, {q});
  g.add_node("Squeeze", "", 13, {s1, axes}, {k});
  g.add_node("Squeeze", "", 13, {s2, axes}, {v});
  g.add_node("Transpose", "", 13, {k}, {kt});
  g.nodes.back().set_attr_ints("perm", {0, 1, 3, 2});
  g.add_node("MatMul", "", 13, {q, kt}, {sc});
  g.add_node("Mul", "", 13, {sc, scale}, {ss});
  g.add_node("Softmax", "", 13, {ss}, {p});
  g.nodes.back().set_attr_int("axis", -1);
  g.add_node("MatMul", "", 13, {p, v}, {o});
  g.add_node("Transpose", "", 13, {o}, {y});
  g.nodes.back().set_attr_ints("perm", {0, 2, 1, 3});
  g.inputs = {x};
  g.outputs = {y};
  ASSERT_TRUE(g.finalize().ok());
  int count = 0;
  ASSERT_TRUE(fuse_attention(g, &count).ok());
  ASSERT_TRUE(fuse_qkv_attention(g, &count).ok());
  EXPECT_EQ(count, 2);
  const Node* f = only_live(g, "QkvAttention");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->inputs, (std::vector<int>{x}));
  EXPECT_EQ(f->outputs, (std::vector<int>{y}));
  EXPECT_FLOAT_EQ(f->attr_float("scale", 0.f), 0.25f);
  for (const Node& n : g.nodes) EXPECT_TRUE(n.dead || &n == f) << n.op_type;
}

TEST(KernelsFusion, MatMulAddKeptWhenIntermediateIsShared) {
  Graph g;
  int x = g.add_value("x", DataType::kFloat32, {2, 8}, true);
  int w = constant(g, "w", {8, 4}, kWeights);
  int b = constant(g, "b", {4}, kBias);
  int mm = g.add_value("mm"), add = g.add_value("add");
  g.add_node("MatMul", "", 17, {x, w}, {mm});
  g.add_node("Add", "", 17, {mm, b}, {add});
  g.inputs = {x};
  g.outputs = {add, mm};  // the MatMul output is needed by itself
  ASSERT_TRUE(g.finalize().ok());
  int count = 0;
  ASSERT_TRUE(fuse_matmul_bias(g, &count).ok());
  EXPECT_EQ(count, 0);
  EXPECT_NE(only_live(g, "MatMul"), nullptr);
}

TEST(KernelsFusion, AttentionPatternWithScaleAndBias) {
  Graph g;
  int q = g.add_value("q", DataType::kFloat32, {1, 2, 5, 8}, true);
  int k = g.add_value("k", DataType::kFloat32, {1, 2, 5, 8}, true);
  int v = g.add_value("v", DataType::kFloat32, {1, 2, 5, 8}, true);
  int mask = g.add_value("mask", DataType::kFloat32, {1, 1, 1, 5}, true);
  int eight = constant(g, "eight", {}, &kEight);
  int quarter = constant(g, "quarter", {1}, &kQuarter);
  int qs = g.add_value("qs"), kt = g.add_value("kt"), s = g.add_value("s"), sd = g.add_value("sd"),
      sb = g.add_value("sb"), p = g.add_value("p"), o = g.add_value("o");
  g.add_node("Mul", "", 17, {q, quarter}, {qs});
  g.add_node("Transpose", "", 17, {k}, {kt});
  g.nodes.back().set_attr_ints("perm", {0, 1, 3, 2});
  g.add_node("MatMul", "", 17, {qs, kt}, {s});
  g.add_node("Div", "", 17, {s, eight}, {sd});
  g.add_node("Add", "", 17, {sd, mask}, {sb});
  g.add_node("Softmax", "", 17, {sb}, {p});
  g.nodes.back().set_attr_int("axis", -1);
  g.add_node("MatMul", "", 17, {p, v}, {o});
  g.inputs = {q, k, v, mask};
  g.outputs = {o};
  ASSERT_TRUE(g.finalize().ok());
  int count = 0;
  ASSERT_TRUE(fuse_attention(g, &count).ok());
  EXPECT_EQ(count, 1);
  ASSERT_EQ(g.nodes.size(), 1u);
  const Node& a = g.nodes[0];
  EXPECT_EQ(a.op_type, "Attention");
  EXPECT_EQ(a.inputs, (std::vector<int>{q, k, v, mask}));
  EXPECT_EQ(a.outputs, (std::vector<int>{o}));
  EXPECT_FLOAT_EQ(a.attr_float("scale", 0.f), 0.25f / 8.f);
}

TEST(KernelsFusion, AttentionNotFusedForSoftmaxOverAnotherAxis) {
  Graph g;
  int q = g.add_value("q", DataType::kFloat32, {1, 2, 5, 8}, true);
  int k = g.add_value("k", DataType::kFloat32, {1, 2, 5, 8}, true);
  int v = g.add_value("v", DataType::kFloat32, {1, 2, 5, 8}, true);
  int kt = g.add_value("kt"), s = g.add_value("s"), p = g.add_value("p"), o = g.add_value("o");
  g.add_node("Transpose", "", 17, {k}, {kt});
  g.nodes.back().set_attr_ints("perm", {0, 1, 3, 2});
  g.add_node("MatMul", "", 17, {q, kt}, {s});
  g.add_node("Softmax", "", 17, {s}, {p});
  g.nodes.back().set_attr_int("axis", 2);
  g.add_node("MatMul", "", 17, {p, v}, {o});
  g.inputs = {q, k, v};
  g.outputs = {o};
  ASSERT_TRUE(g.finalize().ok());
  int count = 0;
  ASSERT_TRUE(fuse_attention(g, &count).ok());
  EXPECT_EQ(count, 0);
  EXPECT_EQ(only_live(g, "Attention"), nullptr);
}

}  // namespace
}  // namespace seer::engine
