// The weights of a TF.js model folder: model.json's `weightsManifest` + its .bin shards, decoded
// exactly as tfjs `io_utils.decodeWeight` does (tools/nsfwjs/FORMAT.md).
//
//   SEER_ASSIGN_OR_RETURN(TfjsWeights w, TfjsWeights::read_model_json("m/model.json"));
//   const TfjsWeightEntry* e = w.find("Conv1/kernel");           // shape [3,3,3,32]
//   std::vector<float> v(e->shape.numel());
//   SEER_RETURN_IF_ERROR(w.decode(*e, v.data()));                 // float32(double(q)*scale+min)
//
// Each manifest group's shards are concatenated in `paths` order into one byte stream (weights
// straddle shard boundaries), and the weights lie in it back to back in `weights` order. Only
// those quantised bytes stay in memory (transient heap, load time only: the importer writes each
// weight's final float32 form straight into the model's ledger buffers, so a dequantised copy
// never exists twice). Supported: float32 weights, raw or quantised as uint8 / uint16 (affine
// min + q·scale) or float16. Anything else is Unsupported naming the weight.
//
// Thread-safety: immutable after read(); decode() may run concurrently.
#pragma once

#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "engine/shape.h"

namespace seer::engine {

struct TfjsWeightEntry {
  std::string name;
  Shape shape;              // rank 0 = scalar (1 value)
  std::string quantization; // "" (raw float32), "uint8", "uint16", "float16"
  double scale = 0, min = 0;
  size_t group = 0;         // which manifest group's stream
  uint64_t offset = 0;      // byte offset in that stream
  uint64_t bytes = 0;       // stored bytes
};

class TfjsWeights {
 public:
  // `manifest` = model.json's weightsManifest array; shard paths are relative to `dir`.
  static StatusOr<TfjsWeights> read(const std::string& dir, const nlohmann::json& manifest);
  // Parses `model_json` (a model.json file) and reads its manifest (tests, tools).
  static StatusOr<TfjsWeights> read_model_json(const std::string& model_json);

  const std::vector<TfjsWeightEntry>& entries() const { return entries_; }
  const TfjsWeightEntry* find(std::string_view name) const;
  // Writes shape.numel() float32 values to dst.
  Status decode(const TfjsWeightEntry& e, float* dst) const;
  StatusOr<std::vector<float>> decode(std::string_view name) const;

 private:
  std::vector<std::vector<uint8_t>> streams_;  // per manifest group
  std::vector<TfjsWeightEntry> entries_;
  std::map<std::string, size_t, std::less<>> index_;
};

}  // namespace seer::engine
