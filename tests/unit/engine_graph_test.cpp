// Engine graphs end to end on hand-built models: the importer's Unsupported message, unsorted
// graphs, broadcasting against hand-computed values, batch plans and the no-alloc run path.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <filesystem>

#include "engine/model.h"
#include "engine/no_alloc.h"
#include "engine/onnx/onnx_import.h"
#include "engine/passes/passes.h"
#include "test_util/smaps.h"

namespace seer::engine {
namespace {

onnx::ValueInfoProto value_info(const std::string& name, int elem, std::vector<int64_t> dims,
                                const std::string& batch_param = "") {
  onnx::ValueInfoProto v;
  v.set_name(name);
  auto* tt = v.mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem);
  auto* shape = tt->mutable_shape();
  for (size_t i = 0; i < dims.size(); ++i) {
    auto* d = shape->add_dim();
    if (i == 0 && !batch_param.empty()) d->set_dim_param(batch_param);
    else d->set_dim_value(dims[i]);
  }
  return v;
}

onnx::NodeProto node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
                     const std::string& name, const std::string& domain = "") {
  onnx::NodeProto n;
  n.set_op_type(op);
  n.set_name(name);
  n.set_domain(domain);
  for (auto& i : in) n.add_input(i);
  for (auto& o : out) n.add_output(o);
  return n;
}

std::string serialise(onnx::ModelProto& m, int opset = 17) {
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  m.set_ir_version(8);
  return m.SerializeAsString();
}

StatusOr<std::shared_ptr<Model>> load_bytes(MemoryLedger& ledger, const std::string& bytes,
                                            int max_batch = 1) {
  ImportOptions io;
  io.ledger = &ledger;
  io.owner = "test";
  SEER_ASSIGN_OR_RETURN(ImportedGraph g, import_onnx_bytes(bytes.data(), bytes.size(), io));
  LoadOptions opt;
  opt.ledger = &ledger;
  opt.owner = "test";
  opt.max_batch = max_batch;
  return Model::from_graph(std::move(g.graph), std::move(g.weights), opt);
}

TEST(EngineImport, UnknownOpIsUnsupportedNamingOpDomainOpsetAndNode) {
  onnx::ModelProto m;
  auto* g = m.mutable_graph();
  *g->add_input() = value_info("x", 1, {1, 4});
  *g->add_output() = value_info("y", 1, {1, 4});
  *g->add_node() = node("FrobnicateV2", {"x"}, {"y"}, "blocks.0/frob");
  auto* ml = m.add_opset_import();
  ml->set_domain("ai.onnx.ml");  // declared, unused: fine
  ml->set_version(4);
  const std::string bytes = serialise(m, 13);
  MemoryLedger ledger;
  ImportOptions io;
  io.ledger = &ledger;
  auto r = import_onnx_bytes(bytes.data(), bytes.size(), io);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  const std::string msg = r.status().message();
  EXPECT_NE(msg.find("FrobnicateV2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("ai.onnx"), std::string::npos) << msg;
  EXPECT_NE(msg.find("opset 13"), std::string::npos) << msg;
  EXPECT_NE(msg.find("blocks.0/frob"), std::string::npos) << msg;
}

TEST(EngineImport, UnknownAttributeIsUnsupported) {
  onnx::ModelProto m;
  auto* g = m.mutable_graph();
  *g->add_input() = value_info("x", 1, {1, 4});
  *g->add_output() = value_info("y", 1, {1, 4});
  auto n = node("Relu", {"x"}, {"y"}, "r");
  auto* a = n.add_attribute();
  a->set_name("mystery");
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(3);
  *g->add_node() = n;
  const std::string bytes = serialise(m);
  MemoryLedger ledger;
  ImportOptions io;
  io.ledger = &ledger;
  auto r = import_onnx_bytes(bytes.data(), bytes.size(), io);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(r.status().message().find("mystery"), std::string::npos) << r.status().message();
}

// y = (x + b) * c with x [N,2,3], b [3], c [2,1]; nodes listed out of order in the file.
TEST(EngineGraph, BroadcastingUnsortedGraphMatchesHandComputedValues) {
  onnx::ModelProto m;
  auto* g = m.mutable_graph();
  *g->add_input() = value_info("input_1:0", 1, {-1, 2, 3}, "batch");
  *g->add_output() = value_info("out", 1, {-1, 2, 3}, "batch");
  auto* b = g->add_initializer();
  b->set_name("b");
  b->set_data_type(1);
  b->add_dims(3);
  for (float v : {10.f, 20.f, 30.f}) b->add_float_data(v);
  auto* c = g->add_initializer();
  c->set_name("c");
  c->set_data_type(1);
  c->add_dims(2);
  c->add_dims(1);
  const float cv[2] = {2.f, -1.f};
  c->set_raw_data(std::string(reinterpret_cast<const char*>(cv), sizeof cv));
  *g->add_node() = node("Mul", {"sum", "c"}, {"out"}, "mul");  // before its producer
  *g->add_node() = node("Add", {"input_1:0", "b"}, {"sum"}, "add");
  const std::string bytes = serialise(m);
  MemoryLedger ledger;
  auto model = load_bytes(ledger, bytes, /*max_batch=*/2);
  ASSERT_TRUE(model.ok()) << model.status().to_string();
  auto ctx = (*model)->create_context();
  ASSERT_TRUE(ctx.ok());
  float x[2 * 2 * 3];
  for (int i = 0; i < 12; ++i) x[i] = static_cast<float>(i);
  Tensor in(DataType::kFloat32, Shape{2, 2, 3}, x);
  std::vector<Tensor> out(1);
  ASSERT_TRUE((*model)->run(**ctx, {&in, 1}, out).ok());
  ASSERT_EQ(out[0].shape, (Shape{2, 2, 3}));
  const float expected[12] = {20, 42, 64, -13, -24, -35, 32, 54, 76, -19, -30, -41};
  for (int i = 0; i < 12; ++i) EXPECT_FLOAT_EQ(out[0].data<float>()[i], expected[i]) << i;
  // Batch 1 runs from its own plan and reads the same numbers for the first item.
  Tensor in1(DataType::kFloat32, Shape{1, 2, 3}, x);
  ASSERT_TRUE((*model)->run(**ctx, {&in1, 1}, out).ok());
  ASSERT_EQ(out[0].shape, (Shape{1, 2, 3}));
  for (int i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(out[0].data<float>()[i], expected[i]) << i;
  // A batch over the max is refused, not run.
  Tensor in3(DataType::kFloat32, Shape{3, 2, 3}, x);
  EXPECT_FALSE((*model)->run(**ctx, {&in3, 1}, out).ok());
  // Weights and the arena are in the ledger under the model's owner.
  EXPECT_GT(ledger.bytes(DeviceId{}, "test", MemoryTag::kArena), 0u);
  EXPECT_EQ(ledger.bytes(DeviceId{}, "test", MemoryTag::kArena), (*ctx)->arena_bytes());
}

// A graph fixed at batch 1 with a Shape->Gather->Concat->Reshape subgraph runs batch 3 as a loop.
TEST(EngineGraph, FixedBatchOneGraphRunsABatchAsALoop) {
  onnx::ModelProto m;
  auto* g = m.mutable_graph();
  *g->add_input() = value_info("x", 1, {1, 2, 2});
  *g->add_output() = value_info("y", 1, {1, 4});
  auto* shape = g->add_initializer();
  shape->set_name("shape");
  shape->set_data_type(7);
  shape->add_dims(2);
  shape->add_int64_data(1);
  shape->add_int64_data(4);
  *g->add_node() = node("Reshape", {"x", "shape"}, {"r"}, "reshape");
  *g->add_node() = node("Neg", {"r"}, {"y"}, "neg");
  const std::string bytes = serialise(m);
  MemoryLedger ledger;
  auto model = load_bytes(ledger, bytes, /*max_batch=*/3);
  ASSERT_TRUE(model.ok()) << model.status().to_string();
  EXPECT_TRUE((*model)->batch_loop());
  EXPECT_EQ((*model)->max_batch(), 3);
  auto ctx = (*model)->create_context();
  ASSERT_TRUE(ctx.ok());
  float x[12];
  for (int i = 0; i < 12; ++i) x[i] = static_cast<float>(i);
  Tensor in(DataType::kFloat32, Shape{3, 2, 2}, x);
  std::vector<Tensor> out(1);
  {
    Status st = (*model)->run(**ctx, {&in, 1}, out);  // runs under NoAllocScope
    ASSERT_TRUE(st.ok()) << st.to_string();
  }
  ASSERT_EQ(out[0].shape, (Shape{3, 4}));
  for (int i = 0; i < 12; ++i) EXPECT_FLOAT_EQ(out[0].data<float>()[i], -static_cast<float>(i));
}

}  // namespace
}  // namespace seer::engine

namespace seer::engine {
namespace {

// The bytes a model reports before loading (a measuring load that packs nothing) are what the
// real load then charges to the ledger, for packed fp32, bf16 and in-place fp32 weights.
TEST(EngineModel, PlannedBytesMatchTheLedgerAfterLoading) {
  const std::string path = std::string(SEER_SOURCE_DIR) + "/tests/fixtures/models/wd14_vit/model_opset13.onnx";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "fixture missing: " << path;
  struct Variant {
    Precision precision;
    bool in_place;
  };
  uint64_t packed_fp32_weights = 0, mapped_fp32_weights = 0, packed_fp32_resident = 0;
  for (Variant v : {Variant{Precision::kF32, false}, Variant{Precision::kBF16, false},
                    Variant{Precision::kF32, true}}) {
    SCOPED_TRACE(testing::Message() << (v.precision == Precision::kBF16 ? "bf16" : "fp32")
                                    << (v.in_place ? " mapped" : " packed"));
    LoadOptions opt;
    opt.owner = "wd14";
    opt.max_batch = 3;
    opt.engine.precision = v.precision;
    opt.engine.weights_in_place = v.in_place;
    auto planned = Model::plan_bytes(path, opt);
    ASSERT_TRUE(planned.ok()) << planned.status().to_string();
    MemoryLedger ledger;
    opt.ledger = &ledger;
    auto model = Model::load(path, opt);
    ASSERT_TRUE(model.ok()) << model.status().to_string();
    auto ctx = (*model)->create_context();
    ASSERT_TRUE(ctx.ok());
    // The load counts at most `weights` at once (what the runtime reserves); after it the model
    // holds `weights_resident`: the sources that runs never read were released.
    EXPECT_EQ(ledger.bytes(DeviceId{}, "wd14", MemoryTag::kWeights), planned->weights_resident);
    // The ledger's high-water mark: the load's weights, or the kept weights beside the arena.
    EXPECT_EQ(ledger.device_usage(DeviceId{})->peak_bytes,
              std::max(planned->weights, planned->weights_resident + planned->arena))
        << "the load's peak is what plan_bytes() promised";
    EXPECT_EQ(ledger.bytes(DeviceId{}, "wd14", MemoryTag::kArena), planned->arena);
    EXPECT_GE(planned->weights, std::filesystem::file_size(path));  // the mapped file at least
    EXPECT_LE(planned->weights_resident, planned->weights);
    if (v.precision == Precision::kF32) (v.in_place ? mapped_fp32_weights : packed_fp32_weights) = planned->weights;
    if (v.precision == Precision::kF32 && !v.in_place) packed_fp32_resident = planned->weights_resident;
    ctx->reset();
    model->reset();
    EXPECT_EQ(ledger.owner_bytes("wd14"), 0u);  // an unload returns every byte
  }
  // In place, fewer weights are packed: the load holds fewer bytes at its peak. A packing load
  // releases what it packed.
  EXPECT_LT(mapped_fp32_weights, packed_fp32_weights);
  EXPECT_LT(packed_fp32_resident, packed_fp32_weights);
}

// Memory truth for the model file: after a load that packed its MatMul weights, the file's pages
// left the process (smaps Rss of the file) as they left the ledger, and runs fault nothing back
// in beyond what the ledger still counts (plus the kernel's fault-around of pages next to the
// kept ones). In place (--weights mapped) the MatMul weights are read by runs and stay.
TEST(EngineModel, PackedWeightsFilePagesLeaveRssAndLedger) {
  const std::string src = std::string(SEER_SOURCE_DIR) + "/tests/fixtures/models/wd14_vit/model_opset13.onnx";
  if (!std::filesystem::exists(src)) GTEST_SKIP() << "fixture missing: " << src;
  const std::string path = std::filesystem::canonical(src).string();
  const uint64_t file = std::filesystem::file_size(path);
  uint64_t released_packed = 0, released_mapped = 0;
  for (bool in_place : {false, true}) {
    SCOPED_TRACE(in_place ? "mapped" : "packed");
    MemoryLedger ledger;
    LoadOptions opt;
    opt.ledger = &ledger;
    opt.owner = "wd14";
    opt.max_batch = 2;
    opt.engine.weights_in_place = in_place;
    auto model = Model::load(path, opt);
    ASSERT_TRUE(model.ok()) << model.status().to_string();
    auto ctx = (*model)->create_context();
    ASSERT_TRUE(ctx.ok());
    Shape s = (*model)->inputs()[0].shape;
    s[0] = 2;
    std::vector<float> in(s.numel(), 100.f);
    Tensor x(DataType::kFloat32, s, in.data());
    std::vector<Tensor> out((*model)->outputs().size());
    ASSERT_TRUE((*model)->run(**ctx, {&x, 1}, out).ok());
    const uint64_t released = (*model)->load_timings().released_bytes;
    (in_place ? released_mapped : released_packed) = released;
    const uint64_t file_counted = file - released;  // the file's bytes the ledger still counts
    const uint64_t resident = test::resident_bytes_of(path);
    EXPECT_LE(resident, file_counted + 16 * 4096 * 8) << "runs read file pages the ledger released";
    EXPECT_EQ(ledger.bytes(DeviceId{}, "wd14", MemoryTag::kWeights), (*model)->weight_bytes());
    ctx->reset();
    model->reset();
    EXPECT_EQ(test::resident_bytes_of(path), 0u);
    EXPECT_EQ(ledger.owner_bytes("wd14"), 0u);
  }
  EXPECT_GT(released_packed, file * 3 / 4) << "the packed MatMul weights' pages should go";
  EXPECT_LT(released_mapped, released_packed) << "in place, runs read the MatMul weights";
}

}  // namespace
}  // namespace seer::engine

namespace seer::engine {
namespace {

int count_ops(const Graph& g, std::string_view op) {
  int n = 0;
  for (const Node& node : g.nodes) n += !node.dead && node.op_type == op;
  return n;
}

// tools/fixture_archs.py NhwcConvNet (tf2onnx-style, 6 Convs each between two Transposes): the
// pair around the Clip cancels; the pair whose NHWC value a residual Add also reads stays. (The outputs are checked against ONNX Runtime by onnx_models_vs_ort.)
TEST(EngineModel, CancellingTransposePairsAroundNhwcConvolutionsAreRemoved) {
  const std::string path =
      std::string(SEER_SOURCE_DIR) + "/tests/fixtures/models/nhwc_convnet/model_opset17.onnx";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "fixture missing: " << path;
  MemoryLedger ledger;
  LoadOptions opt;
  opt.ledger = &ledger;
  opt.max_batch = 2;
  opt.fuse = false;
  auto plain = Model::load(path, opt);
  ASSERT_TRUE(plain.ok()) << plain.status().to_string();
  // torch.onnx already merges back-to-back Transposes: 12 in the model, 8 in the file.
  EXPECT_EQ(count_ops((*plain)->graph(), "Transpose"), 8);
  opt.fuse = true;
  auto model = Model::load(path, opt);
  ASSERT_TRUE(model.ok()) << model.status().to_string();
  EXPECT_EQ(count_ops((*model)->graph(), "Transpose"), 6) << (*model)->op_summary();
  EXPECT_EQ(count_ops((*model)->graph(), "Conv"), 6);
}

// The two rewrites on hand-made graphs. x → T[1,2,0] → T[0,2,1] → Relu → T[0,2,1] → y is
// y = Relu(Transpose(x, [1,2,0])): the adjacent pair composes to [1,0,2] (rule A), which then
// meets the last Transpose around the Relu (rule B): one Transpose [1,2,0] after the Relu.
TEST(EngineModel, AdjacentTransposesComposeAndPairsAroundUnaryOpsCancel) {
  Graph g;
  const int x = g.add_value("x", DataType::kFloat32, Shape{2, 3, 4}, true);
  const int a = g.add_value("a"), b = g.add_value("b"), c = g.add_value("c"), y = g.add_value("y");
  g.nodes.reserve(4);
  g.nodes[g.add_node("Transpose", "", 13, {x}, {a}, "t1")].set_attr_ints("perm", {1, 2, 0});
  g.nodes[g.add_node("Transpose", "", 13, {a}, {b}, "t2")].set_attr_ints("perm", {0, 2, 1});
  g.add_node("Relu", "", 13, {b}, {c}, "r");
  g.nodes[g.add_node("Transpose", "", 13, {c}, {y}, "t3")].set_attr_ints("perm", {0, 2, 1});
  g.inputs = {x};
  g.outputs = {y};
  ASSERT_TRUE(g.finalize().ok());
  int rewrites = 0;
  ASSERT_TRUE(eliminate_transposes(g, &rewrites).ok());
  ASSERT_TRUE(remove_dead_nodes(g).ok());
  EXPECT_EQ(rewrites, 2);
  ASSERT_EQ(count_ops(g, "Transpose"), 1);
  for (const Node& n : g.nodes) {
    if (n.dead) continue;
    if (n.op_type == "Relu") {
      EXPECT_EQ(n.inputs[0], x);
    }
    if (n.op_type == "Transpose") {
      EXPECT_EQ(n.outputs[0], y);
      EXPECT_EQ(n.attr_ints("perm"), (std::vector<int64_t>{1, 2, 0}));
    }
  }
}

// A pair that cancels completely before a graph output leaves an Identity (a free view), so
// the output keeps its name.
TEST(EngineModel, CancelledPairBeforeAGraphOutputBecomesIdentity) {
  Graph g;
  const int x = g.add_value("x", DataType::kFloat32, Shape{2, 3, 4}, true);
  const int a = g.add_value("a"), c = g.add_value("c"), y = g.add_value("y");
  g.nodes.reserve(3);
  g.nodes[g.add_node("Transpose", "", 13, {x}, {a}, "t1")].set_attr_ints("perm", {0, 2, 1});
  g.add_node("Sigmoid", "", 13, {a}, {c}, "s");
  g.nodes[g.add_node("Transpose", "", 13, {c}, {y}, "t2")].set_attr_ints("perm", {0, 2, 1});
  g.inputs = {x};
  g.outputs = {y};
  ASSERT_TRUE(g.finalize().ok());
  ASSERT_TRUE(eliminate_transposes(g).ok());
  ASSERT_TRUE(remove_dead_nodes(g).ok());
  EXPECT_EQ(count_ops(g, "Transpose"), 0);
  EXPECT_EQ(count_ops(g, "Identity"), 1);
  EXPECT_EQ(g.outputs[0], y);
}

}  // namespace
}  // namespace seer::engine
