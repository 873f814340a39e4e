// `seer onnx-run MODEL.onnx --input NAME=FILE.npy [...] --output-dir DIR [--precision fp32|bf16]
// [--weights packed|mapped]`:
// runs the graph once on .npy inputs and writes every graph output as DIR/<name>.npy, where
// <name> is the output name with every character outside [A-Za-z0-9._-] replaced by '_'.
// Inputs bind by name; when a name matches no input and as many inputs as the model has are
// given, they bind by position. Exit 0 ok, 1 load/run failure, 2 usage.
#include <chrono>
#include <cstdio>
#include <algorithm>
#include <filesystem>

#include "cli/commands.h"
#include "engine/half.h"
#include "engine/kernels/bf16.h"
#include "engine/model.h"
#include "engine/onnx/onnx_import.h"
#include "engine/npy.h"
#include "memory/ledger.h"

namespace seer::cli {
namespace {

std::string sanitise(const std::string& name) {
  std::string s = name;
  for (char& ch : s)
    if (!(isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-')) ch = '_';
  return s;
}

struct OnnxRunArgs {
  std::string model;
  std::vector<std::string> inputs;
  std::string output_dir;
  std::string precision = "fp32";
  std::string weights = "packed";
  std::string pack_cache;  // folder of cached packed weights; empty: pack at every load
  int max_batch = 0;
};

int run(const OnnxRunArgs& a) {
  using namespace engine;
  std::vector<std::pair<std::string, NpyArray>> given;
  for (const std::string& spec : a.inputs) {
    const size_t eq = spec.find('=');
    if (eq == std::string::npos) {
      std::fprintf(stderr, "seer onnx-run: --input wants NAME=FILE.npy, got '%s'\n", spec.c_str());
      return 2;
    }
    auto arr = read_npy(spec.substr(eq + 1));
    if (!arr.ok()) {
      std::fprintf(stderr, "seer onnx-run: %s\n", arr.status().to_string().c_str());
      return 1;
    }
    given.emplace_back(spec.substr(0, eq), std::move(arr).value());
  }
  MemoryLedger ledger;
  auto t0 = std::chrono::steady_clock::now();
  // Import once to learn the input names, then plan for exactly the given shapes.
  LoadOptions opt;
  opt.ledger = &ledger;
  opt.owner = std::filesystem::path(a.model).stem().string();
  {
    auto choice = EngineChoice::parse(a.precision, a.weights);
    if (!choice.ok()) {
      std::fprintf(stderr, "seer onnx-run: %s\n", choice.status().to_string().c_str());
      return 2;
    }
    opt.engine = *choice;
    opt.engine.pack_cache_dir = a.pack_cache;
  }
  std::vector<Shape> declared;
  auto names = [&]() -> StatusOr<std::vector<std::string>> {
    ImportOptions io;
    io.ledger = &ledger;
    io.owner = opt.owner;
    io.resolve_ops = false;
    SEER_ASSIGN_OR_RETURN(ImportedGraph g, import_onnx(a.model, io));
    std::vector<std::string> n;
    for (int v : g.graph.inputs) {
      n.push_back(g.graph.values[v].name);
      declared.push_back(g.graph.values[v].shape_known ? g.graph.values[v].shape : Shape());
    }
    return n;
  }();
  if (!names.ok()) {
    std::fprintf(stderr, "seer onnx-run: %s\n", names.status().to_string().c_str());
    return 1;
  }
  std::vector<int> order(names->size(), -1);
  bool by_position = false;
  for (size_t g = 0; g < given.size(); ++g) {
    auto it = std::find(names->begin(), names->end(), given[g].first);
    if (it == names->end()) by_position = true;
    else order[it - names->begin()] = static_cast<int>(g);
  }
  if (by_position && given.size() == names->size())
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  for (size_t i = 0; i < order.size(); ++i)
    if (order[i] < 0) {
      std::fprintf(stderr, "seer onnx-run: no --input for model input '%s'\n", (*names)[i].c_str());
      return 2;
    }
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < order.size(); ++i) {
    inputs.push_back(given[order[i]].second.tensor());
    opt.input_shapes.push_back(inputs.back().shape);
  }
  // When the inputs differ from the declared shapes only in the batch dim (dynamic, or fixed at
  // 1 for a batch-loop graph), load as a server would: per-batch plans up to this batch.
  bool batch_only = !inputs.empty();
  for (size_t i = 0; i < inputs.size() && batch_only; ++i) {
    const Shape& d = declared[i];
    const Shape& s = inputs[i].shape;
    batch_only = d.rank() == s.rank() && s.rank() >= 1 && s[0] == inputs[0].shape[0] &&
                 (d[0] == kDynamicDim || d[0] == 1);
    for (int k = 1; k < d.rank() && batch_only; ++k) batch_only = d[k] == s[k];
  }
  if (batch_only) {
    opt.max_batch = static_cast<int>(inputs[0].shape[0]);
    opt.input_shapes.clear();
  }
  auto model = Model::load(a.model, opt);
  if (!model.ok()) {
    std::fprintf(stderr, "seer onnx-run: %s\n", model.status().to_string().c_str());
    return 1;
  }
  const double load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  auto ctx = (*model)->create_context();
  if (!ctx.ok()) {
    std::fprintf(stderr, "seer onnx-run: %s\n", ctx.status().to_string().c_str());
    return 1;
  }
  std::vector<Tensor> outputs((*model)->outputs().size());
  auto t1 = std::chrono::steady_clock::now();
  Status st = (*model)->run(**ctx, inputs, outputs);
  const double run_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1).count();
  if (!st.ok()) {
    std::fprintf(stderr, "seer onnx-run: %s\n", st.to_string().c_str());
    return 1;
  }
  std::error_code ec;
  std::filesystem::create_directories(a.output_dir, ec);
  for (size_t o = 0; o < outputs.size(); ++o) {
    const std::string path = (std::filesystem::path(a.output_dir) / (sanitise((*model)->outputs()[o].name) + ".npy")).string();
    Tensor t = outputs[o];
    std::vector<float> widened;
    if (t.dtype == DataType::kBFloat16) {  // .npy has no bfloat16: write float32
      widened.resize(t.numel());
      kernels::bf16_to_f32(t.data<uint16_t>(), widened.data(), t.numel());
      t = Tensor(DataType::kFloat32, t.shape, widened.data());
    }
    Status w = write_npy(path, t);
    if (!w.ok()) {
      std::fprintf(stderr, "seer onnx-run: %s\n", w.to_string().c_str());
      return 1;
    }
    std::printf("%s %s %s\n", path.c_str(), std::string(to_string(t.dtype)).c_str(), t.shape.to_string().c_str());
  }
  if (!a.pack_cache.empty()) {
    const LoadTimings& lt = (*model)->load_timings();
    std::printf("pack cache: %d mapped, %d packed\n", lt.cache_hits, lt.cache_misses);
  }
  std::printf("load %.1f ms, run %.1f ms, weights %s, arena %s, ops: %s\n", load_ms, run_ms,
              format_bytes((*model)->weight_bytes()).c_str(), format_bytes((*model)->arena_bytes()).c_str(),
              (*model)->op_summary().c_str());
  return 0;
}

}  // namespace

void register_onnx_run(CLI::App& app, CliContext& ctx) {
  auto args = std::make_shared<OnnxRunArgs>();
  CLI::App* cmd = app.add_subcommand("onnx-run", "run an ONNX graph on .npy inputs and write its outputs");
  cmd->add_option("model", args->model, "the .onnx file")->required();
  cmd->add_option("--input", args->inputs, "NAME=FILE.npy (repeatable)")->required();
  cmd->add_option("--output-dir", args->output_dir, "where DIR/<output>.npy go")->required();
  cmd->add_option("--precision", args->precision, "fp32 (default) or bf16")
      ->check(CLI::IsMember({"fp32", "bf16"}));
  cmd->add_option("--weights", args->weights, "packed (default) | mapped (fp32 weights read in place)")
      ->check(CLI::IsMember({"packed", "mapped"}));
  cmd->add_option("--pack-cache", args->pack_cache,
                  "keep packed weights in files in this folder and map them on the next load (default: none)");
  cmd->callback([&ctx, args] { ctx.exit_code = run(*args); });
}

}  // namespace seer::cli
