// `seer bench --onnx MODEL.onnx --batch 1,4,8 [--precision fp32|bf16] [--seconds S] [--threads N]
// [--weights packed|mapped] [--input X.npy] [--json]`: loads the graph once at the largest batch, feeds random input
// (uniform 0..255 for float inputs, zeros otherwise) or, with --input, the images of a float32
// .npy [N, ...] (cycled to fill the batch) to the first input, and reports images/s per batch,
// the load time and the peak RSS. MODEL may also be a TF.js model folder (or its model.json).
// With --json the last line of stdout is
//   {"load_ms": .., "peak_rss_mb": .., "load_peak_rss_mb": .., "rss_before_load_mb": .., "weights_mb": ..,
//    "arena_mb": .., "released_mb": .., "results": [{"batch": 1, "img_per_s": ..}, ..]}
// bench/vit_bench.sh runs this beside ONNX Runtime on the same file and prints the ratios.
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "engine/model.h"
#include "engine/npy.h"
#include "memory/ledger.h"
#include "memory/probes.h"

namespace seer::cli {
namespace {

struct BenchArgs {
  std::string model;
  std::vector<int> batches{1};
  std::string precision = "fp32";
  double seconds = 10;
  int threads = 0;
  std::string weights = "packed";
  std::string pack_cache;  // folder of cached packed weights; empty: pack at every load
  bool json = false;
  std::string input_npy;  // optional real pixels for the first input
};

// Fills every input of `model` for `batch` images into ledger buffers; tensors point into them.
Status make_inputs(const engine::Model& model, int batch, MemoryLedger& ledger, const engine::NpyArray* given,
                   std::vector<Buffer>& storage, std::vector<engine::Tensor>& tensors) {
  using namespace engine;
  std::mt19937 rng(1234);
  std::uniform_real_distribution<float> pixel(0.f, 255.f);
  for (const IoInfo& in : model.inputs()) {
    Shape shape = in.shape;
    for (int d = 0; d < shape.rank(); ++d) {
      if (shape[d] == kDynamicDim && d == 0) shape[d] = batch;
      else if (shape[d] == kDynamicDim)
        return Status::unsupported("input '{}' has a dynamic dimension {} besides the batch", in.name, d);
    }
    if (!model.batch_loop() && shape.rank() > 0 && shape[0] != batch) shape[0] = batch;
    if (model.batch_loop()) shape[0] = batch;
    const size_t bytes = static_cast<size_t>(shape.numel()) * dtype_size(in.dtype);
    SEER_ASSIGN_OR_RETURN(Buffer b, ledger.allocate(DeviceId{}, "bench", MemoryTag::kStaging, bytes));
    const size_t per_image = shape.rank() > 0 && shape[0] > 0 ? bytes / static_cast<size_t>(shape[0]) : bytes;
    if (given && tensors.empty()) {  // the first input: the given images, cycled
      if (given->dtype != in.dtype || given->shape.rank() != shape.rank() || given->shape[0] < 1 ||
          given->data.size() % per_image != 0)
        return Status::invalid_argument("--input {} does not fit input '{}' {}", given->shape.to_string(), in.name,
                                        shape.to_string());
      const size_t have = given->data.size() / per_image;
      for (int64_t i = 0; i < shape[0]; ++i)
        std::copy_n(given->data.data() + (static_cast<size_t>(i) % have) * per_image, per_image,
                    b.as<uint8_t>() + static_cast<size_t>(i) * per_image);
    } else if (in.dtype == DataType::kFloat32) {
      float* p = b.as<float>();
      for (int64_t i = 0; i < shape.numel(); ++i) p[i] = pixel(rng);
    } else {
      std::fill_n(b.as<uint8_t>(), bytes, 0);
    }
    tensors.emplace_back(in.dtype, shape, b.data());
    storage.push_back(std::move(b));
  }
  return {};
}

double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

int run(const BenchArgs& a) {
  using namespace engine;
  if (a.threads > 0) omp_set_num_threads(a.threads);
  const int max_batch = *std::max_element(a.batches.begin(), a.batches.end());
  MemoryLedger ledger;
  LoadOptions opt;
  opt.ledger = &ledger;
  opt.owner = std::filesystem::path(a.model).stem().string();
  opt.max_batch = max_batch;
  {
    auto choice = EngineChoice::parse(a.precision, a.weights);
    if (!choice.ok()) {
      std::fprintf(stderr, "seer bench: %s\n", choice.status().to_string().c_str());
      return 2;
    }
    opt.engine = *choice;
    opt.engine.pack_cache_dir = a.pack_cache;
  }

  const double rss_before_mb = read_process_memory().rss_bytes / 1048576.0;
  const auto t0 = std::chrono::steady_clock::now();
  auto model = Model::load(a.model, opt);
  if (!model.ok()) {
    std::fprintf(stderr, "seer bench: %s\n", model.status().to_string().c_str());
    return 1;
  }
  auto ctx = (*model)->create_context();
  if (!ctx.ok()) {
    std::fprintf(stderr, "seer bench: %s\n", ctx.status().to_string().c_str());
    return 1;
  }
  const double load_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("model %s  precision %s  max batch %d%s  weights %.1f MB  arena %.1f MB  load %.0f ms\n",
              a.model.c_str(), a.precision.c_str(), (*model)->max_batch(),
              (*model)->batch_loop() ? " (batch-1 graph, looped)" : "",
              (*model)->weight_bytes() / 1048576.0, (*model)->arena_bytes() / 1048576.0, load_ms);
  const engine::LoadTimings& lt = (*model)->load_timings();
  std::printf("load: import %.0f ms, passes %.0f ms, %d plans %.0f ms, weight packing %.0f ms", lt.import_ms,
              lt.passes_ms, lt.plans, lt.plans_ms, lt.pack_ms);
  if (!a.pack_cache.empty())
    std::printf(", pack cache %.0f ms (%d blobs mapped, %d packed)", lt.cache_ms, lt.cache_hits, lt.cache_misses);
  std::printf("; weights: %.1f MB at the load's peak, %.1f MB of sources released (packed or folded; no run reads them)\n",
              lt.peak_weight_bytes / 1048576.0, lt.released_bytes / 1048576.0);
  const double load_peak_rss_mb = read_peak_rss_bytes() / 1048576.0;

  engine::NpyArray given;
  if (!a.input_npy.empty()) {
    auto npy = engine::read_npy(a.input_npy);
    if (!npy.ok()) {
      std::fprintf(stderr, "seer bench: %s\n", npy.status().to_string().c_str());
      return 1;
    }
    given = std::move(npy).value();
  }
  nlohmann::json results = nlohmann::json::array();
  for (int batch : a.batches) {
    std::vector<Buffer> storage;
    std::vector<Tensor> inputs;
    Status s = make_inputs(**model, batch, ledger, a.input_npy.empty() ? nullptr : &given, storage, inputs);
    std::vector<Tensor> outputs((*model)->outputs().size());
    if (s.ok()) s = (*model)->run(**ctx, inputs, outputs);  // warm-up
    if (!s.ok()) {
      std::fprintf(stderr, "seer bench: batch %d: %s\n", batch, s.to_string().c_str());
      return 1;
    }
    int runs = 0;
    const double cpu0 = process_cpu_seconds();
    const auto start = std::chrono::steady_clock::now();
    double elapsed = 0;
    while (runs < 2 || elapsed < a.seconds) {
      s = (*model)->run(**ctx, inputs, outputs);
      if (!s.ok()) {
        std::fprintf(stderr, "seer bench: batch %d: %s\n", batch, s.to_string().c_str());
        return 1;
      }
      ++runs;
      elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    const double img_per_s = runs * batch / elapsed;
    // Images per CPU-second of this process: what the threads got, robust to a busy machine.
    const double img_per_cpu_s = runs * batch / std::max(1e-9, process_cpu_seconds() - cpu0);
    std::printf("batch %3d  %8.3f img/s  %8.3f img/CPU-s  (%d runs in %.1f s, %.1f ms per batch)\n", batch,
                img_per_s, img_per_cpu_s, runs, elapsed, 1000.0 * elapsed / runs);
    results.push_back({{"batch", batch}, {"img_per_s", img_per_s}, {"img_per_cpu_s", img_per_cpu_s}});
  }
  const double peak_rss_mb = read_peak_rss_bytes() / 1048576.0;
  // The issue-4 bound: peak RSS <= weights + planned arena + 64 MiB (the binary, its libraries, oneDNN's
  // primitive caches, the inputs). "before load" is what the process held before the model.
  const double bound_mb = ((*model)->weight_bytes() + (*model)->arena_bytes()) / 1048576.0 + 64;
  std::printf("peak RSS %.0f MB (load %.0f MB, before load %.0f MB; weights + arena + 64 MiB = %.0f MB)\n",
              peak_rss_mb, load_peak_rss_mb, rss_before_mb, bound_mb);
  if (a.json) {
    nlohmann::json j = {{"load_ms", load_ms},
                        {"peak_rss_mb", peak_rss_mb},
                        {"load_peak_rss_mb", load_peak_rss_mb},
                        {"rss_before_load_mb", rss_before_mb},
                        {"weights_mb", (*model)->weight_bytes() / 1048576.0},
                        {"arena_mb", (*model)->arena_bytes() / 1048576.0},
                        {"released_mb", (*model)->load_timings().released_bytes / 1048576.0},
                        {"load_peak_weights_mb", (*model)->load_timings().peak_weight_bytes / 1048576.0},
                        {"precision", a.precision},
                        {"weights", a.weights},
                        {"load_breakdown_ms", {{"import", (*model)->load_timings().import_ms},
                                               {"passes", (*model)->load_timings().passes_ms},
                                               {"plans", (*model)->load_timings().plans_ms},
                                               {"packing", (*model)->load_timings().pack_ms},
                                               {"pack_cache", (*model)->load_timings().cache_ms}}},
                        {"pack_cache_hits", (*model)->load_timings().cache_hits},
                        {"results", results}};
    std::printf("%s\n", j.dump().c_str());
  }
  return 0;
}

}  // namespace

void register_bench(CLI::App& app, CliContext& ctx) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand("bench", "benchmark a model's inference speed on random input");
  cmd->add_option("--onnx", args->model, "the .onnx file (or a TF.js model folder)")->required()->check(CLI::ExistingPath);
  cmd->add_option("--input", args->input_npy, "float32 .npy of images for the first input (default: random)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--batch", args->batches, "batch sizes, e.g. 1,4,8")->delimiter(',')->check(CLI::Range(1, 4096));
  cmd->add_option("--precision", args->precision, "fp32 | bf16")->check(CLI::IsMember({"fp32", "bf16"}));
  cmd->add_option("--seconds", args->seconds, "seconds per batch size (at least 2 runs)")->check(CLI::Range(0.0, 3600.0));
  cmd->add_option("--threads", args->threads, "compute threads (default: all cores)")->check(CLI::Range(0, 1024));
  cmd->add_option("--weights", args->weights,
                  "packed (fastest GEMMs) | mapped (fp32 weights read in place from the file: no packing "
                  "at load, ~10 % slower GEMMs)")
      ->check(CLI::IsMember({"packed", "mapped"}));
  cmd->add_option("--pack-cache", args->pack_cache,
                  "keep packed weights in files in this folder and map them on the next load (default: none)");
  cmd->add_flag("--json", args->json, "last line of stdout: the results as JSON");
  cmd->callback([args, &ctx] { ctx.exit_code = run(*args); });
}

}  // namespace seer::cli
