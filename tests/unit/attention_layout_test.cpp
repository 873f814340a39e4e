// seer.Attention absorbing the head Transposes of HF-style (PyTorch `transformers`) exports:
// Q and V as Transpose(Reshape(proj) [B,S,H,D], perm [0,2,1,3]), Kᵀ as ONE Transpose(perm
// [0,2,3,1]) of the [B,S,H,D] reshape, the output Transposed back with perm [0,2,1,3]. The fused
// graph must hold one seer.Attention and no Transpose, and give what the unfused graph (plain
// MatMul / Softmax / Transpose ops, LoadOptions::fuse = false) gives. The ONNX Runtime checks of
// the hf_vit fixtures (onnx_models_vs_ort) cover the same path against an outside reference.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "engine/model.h"
#include "engine/onnx/onnx_import.h"

namespace seer::engine {
namespace {

constexpr int64_t kSeq = 70;  // not a multiple of the kernel's 64-row blocks
constexpr int64_t kHeads = 3;
constexpr int64_t kHeadDim = 20;  // not a multiple of 16 lanes: the padded V columns
constexpr int64_t kEmbed = kHeads * kHeadDim;

onnx::ValueInfoProto value_info(const std::string& name, std::vector<int64_t> dims) {
  onnx::ValueInfoProto v;
  v.set_name(name);
  auto* tt = v.mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  for (size_t i = 0; i < dims.size(); ++i) {
    auto* d = tt->mutable_shape()->add_dim();
    if (i == 0) d->set_dim_param("batch");
    else d->set_dim_value(dims[i]);
  }
  return v;
}

onnx::NodeProto* add_node(onnx::GraphProto* g, const std::string& op, std::vector<std::string> in,
                          std::string out) {
  onnx::NodeProto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(out + "/" + op);
  for (auto& i : in) n->add_input(i);
  n->add_output(out);
  return n;
}

void add_transpose(onnx::GraphProto* g, const std::string& in, const std::string& out,
                   std::vector<int64_t> perm) {
  auto* a = add_node(g, "Transpose", {in}, out)->add_attribute();
  a->set_name("perm");
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t p : perm) a->add_ints(p);
}

void add_floats(onnx::GraphProto* g, const std::string& name, std::vector<int64_t> dims,
                const std::vector<float>& data) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  t->set_raw_data(std::string(reinterpret_cast<const char*>(data.data()), data.size() * sizeof(float)));
}

void add_ints(onnx::GraphProto* g, const std::string& name, std::vector<int64_t> values) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::INT64);
  t->add_dims(static_cast<int64_t>(values.size()));
  for (int64_t v : values) t->add_int64_data(v);
}

std::vector<float> random_floats(size_t n, float scale, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-scale, scale);
  std::vector<float> out(n);
  for (float& x : out) x = u(rng);
  return out;
}

// One HF ViT self-attention block on x [batch, S, E] -> y [batch, S, E], as transformers'
// ViTSelfAttention exports at opset 17 (projections without bias, which the test does not need).
// With `expose_q_heads`, Q's transposed [B,H,S,D] value is also a graph output: that Transpose
// then has another consumer and must stay.
std::string hf_attention_model(bool expose_q_heads) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(17);
  auto* g = m.mutable_graph();
  *g->add_input() = value_info("x", {-1, kSeq, kEmbed});
  *g->add_output() = value_info("y", {-1, kSeq, kEmbed});
  if (expose_q_heads) *g->add_output() = value_info("q_heads", {-1, kHeads, kSeq, kHeadDim});
  const float w_scale = 1.f / std::sqrt(static_cast<float>(kEmbed));
  add_floats(g, "wq", {kEmbed, kEmbed}, random_floats(kEmbed * kEmbed, 2 * w_scale, 1));
  add_floats(g, "wk", {kEmbed, kEmbed}, random_floats(kEmbed * kEmbed, 2 * w_scale, 2));
  add_floats(g, "wv", {kEmbed, kEmbed}, random_floats(kEmbed * kEmbed, 2 * w_scale, 3));
  add_floats(g, "sqrt_d", {}, {std::sqrt(static_cast<float>(kHeadDim))});
  add_ints(g, "heads_shape", {-1, kSeq, kHeads, kHeadDim});
  add_ints(g, "merged_shape", {-1, kSeq, kEmbed});
  for (const char* t : {"q", "k", "v"}) {
    const std::string s = t;
    add_node(g, "MatMul", {"x", "w" + s}, s + "_proj");
    add_node(g, "Reshape", {s + "_proj", "heads_shape"}, s + "_bshd");
  }
  add_transpose(g, "q_bshd", expose_q_heads ? "q_heads" : "q_bhsd", {0, 2, 1, 3});
  add_transpose(g, "k_bshd", "k_t", {0, 2, 3, 1});  // torch fused the head split with .transpose(-1, -2)
  add_transpose(g, "v_bshd", "v_bhsd", {0, 2, 1, 3});
  add_node(g, "MatMul", {expose_q_heads ? "q_heads" : "q_bhsd", "k_t"}, "scores");
  add_node(g, "Div", {"scores", "sqrt_d"}, "scaled");
  auto* axis = add_node(g, "Softmax", {"scaled"}, "probs")->add_attribute();
  axis->set_name("axis");
  axis->set_type(onnx::AttributeProto::INT);
  axis->set_i(-1);
  add_node(g, "MatMul", {"probs", "v_bhsd"}, "context");
  add_transpose(g, "context", "context_bshd", {0, 2, 1, 3});
  add_node(g, "Reshape", {"context_bshd", "merged_shape"}, "y");
  return m.SerializeAsString();
}

StatusOr<std::shared_ptr<Model>> load(MemoryLedger& ledger, const std::string& bytes, bool fuse) {
  ImportOptions io;
  io.ledger = &ledger;
  io.owner = fuse ? "fused" : "plain";
  SEER_ASSIGN_OR_RETURN(ImportedGraph g, import_onnx_bytes(bytes.data(), bytes.size(), io));
  LoadOptions opt;
  opt.ledger = &ledger;
  opt.owner = io.owner;
  opt.max_batch = 3;
  opt.fuse = fuse;
  return Model::from_graph(std::move(g.graph), std::move(g.weights), opt);
}

int count_ops(const Graph& g, std::string_view op) {
  int n = 0;
  for (const Node& node : g.nodes) n += !node.dead && node.op_type == op;
  return n;
}

const Node* find_op(const Graph& g, std::string_view op) {
  for (const Node& node : g.nodes)
    if (!node.dead && node.op_type == op) return &node;
  return nullptr;
}

// Runs both models on the same random input at `batch`; every output must agree within `tol`.
void expect_same_outputs(const Model& fused, const Model& plain, Shape in_shape, float tol) {
  std::vector<float> x = random_floats(static_cast<size_t>(in_shape.numel()), 1.f, 7 + in_shape[0]);
  Tensor in(DataType::kFloat32, in_shape, x.data());
  auto fused_ctx = fused.create_context();
  auto plain_ctx = plain.create_context();
  ASSERT_TRUE(fused_ctx.ok() && plain_ctx.ok());
  std::vector<Tensor> a(fused.outputs().size()), b(plain.outputs().size());
  Status st = fused.run(**fused_ctx, {&in, 1}, a);
  ASSERT_TRUE(st.ok()) << st.to_string();
  st = plain.run(**plain_ctx, {&in, 1}, b);
  ASSERT_TRUE(st.ok()) << st.to_string();
  ASSERT_EQ(a.size(), b.size());
  for (size_t o = 0; o < a.size(); ++o) {
    ASSERT_EQ(a[o].shape, b[o].shape) << "output " << o;
    const float* pa = a[o].data<float>();
    const float* pb = b[o].data<float>();
    float max_err = 0.f, max_ref = 0.f;
    for (int64_t i = 0; i < a[o].shape.numel(); ++i) {
      max_err = std::max(max_err, std::fabs(pa[i] - pb[i]));
      max_ref = std::max(max_ref, std::fabs(pb[i]));
    }
    EXPECT_LE(max_err, tol) << "output " << o << " batch " << in_shape[0];
    EXPECT_GT(max_ref, 0.05f) << "output " << o << ": a test on near-zero values proves little";
  }
}

TEST(AttentionLayout, HfAttentionBlockRunsAsOneAttentionWithNoTranspose) {
  const std::string bytes = hf_attention_model(/*expose_q_heads=*/false);
  MemoryLedger ledger;
  auto fused = load(ledger, bytes, true);
  auto plain = load(ledger, bytes, false);
  ASSERT_TRUE(fused.ok()) << fused.status().to_string();
  ASSERT_TRUE(plain.ok()) << plain.status().to_string();
  EXPECT_EQ(count_ops((*plain)->graph(), "Transpose"), 4);
  const Graph& g = (*fused)->graph();
  EXPECT_EQ(count_ops(g, "Attention"), 1);
  EXPECT_EQ(count_ops(g, "Transpose"), 0);
  EXPECT_EQ(count_ops(g, "Softmax"), 0);
  const Node* att = find_op(g, "Attention");
  ASSERT_NE(att, nullptr);
  EXPECT_EQ(att->attr_string("q_layout"), "bshd");
  EXPECT_EQ(att->attr_string("k_layout"), "bshd");
  EXPECT_EQ(att->attr_string("v_layout"), "bshd");
  EXPECT_EQ(att->attr_string("out_layout"), "bshd");
  EXPECT_NEAR(att->attr_float("scale", 0.f), 1.f / std::sqrt(static_cast<float>(kHeadDim)), 1e-7f);
  for (int64_t batch : {1, 3}) expect_same_outputs(**fused, **plain, Shape{batch, kSeq, kEmbed}, 1e-5f);
}

TEST(AttentionLayout, TransposeWithAnotherConsumerStays) {
  const std::string bytes = hf_attention_model(/*expose_q_heads=*/true);
  MemoryLedger ledger;
  auto fused = load(ledger, bytes, true);
  auto plain = load(ledger, bytes, false);
  ASSERT_TRUE(fused.ok()) << fused.status().to_string();
  ASSERT_TRUE(plain.ok()) << plain.status().to_string();
  const Graph& g = (*fused)->graph();
  EXPECT_EQ(count_ops(g, "Attention"), 1);
  EXPECT_EQ(count_ops(g, "Transpose"), 1);  // Q's: the graph output needs its [B,H,S,D] copy
  const Node* att = find_op(g, "Attention");
  ASSERT_NE(att, nullptr);
  EXPECT_EQ(att->attr_string("q_layout", "bhsd"), "bhsd");
  EXPECT_EQ(att->attr_string("k_layout"), "bshd");
  for (int64_t batch : {1, 3}) expect_same_outputs(**fused, **plain, Shape{batch, kSeq, kEmbed}, 1e-5f);
}

// The real export (tools/gen_models.py hf_vit, transformers-style ViT, 2 layers): both layers'
// attention fuses and only the patch embedding's Transpose is left.
TEST(AttentionLayout, HfVitFixtureKeepsNoAttentionTranspose) {
  const std::string path = std::string(SEER_SOURCE_DIR) + "/tests/fixtures/models/hf_vit/model_opset17.onnx";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "fixture missing: " << path;
  MemoryLedger ledger;
  LoadOptions opt;
  opt.ledger = &ledger;
  opt.max_batch = 3;
  opt.owner = "fused";
  auto fused = Model::load(path, opt);
  opt.owner = "plain";
  opt.fuse = false;
  auto plain = Model::load(path, opt);
  ASSERT_TRUE(fused.ok()) << fused.status().to_string();
  ASSERT_TRUE(plain.ok()) << plain.status().to_string();
  EXPECT_EQ(count_ops((*plain)->graph(), "Transpose"), 9);
  EXPECT_EQ(count_ops((*fused)->graph(), "Attention"), 2);
  EXPECT_EQ(count_ops((*fused)->graph(), "Transpose"), 1);
  for (int64_t batch : {1, 3}) expect_same_outputs(**fused, **plain, Shape{batch, 3, 32, 32}, 1e-5f);
}

}  // namespace
}  // namespace seer::engine
