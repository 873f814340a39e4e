// Reads an .onnx file into an engine Graph without copying the weights: the whole file is mapped
// once through the ledger (tag weights, owner = the model id) and each initializer's raw bytes are
// used in place. Only the graph structure goes through the ONNX protobuf, from a copy of the file
// with the raw initializer payloads cut out (so a 1.3 GB file parses like a small one).
//
//   ImportOptions opt{.ledger = &ledger, .owner = "wd14-vit"};
//   SEER_ASSIGN_OR_RETURN(ImportedGraph g, import_onnx("model.onnx", opt));
//   // g.graph: topologically sorted, Constant nodes turned into constant Values, every node's
//   // op resolved in OpRegistry::global() (Unsupported otherwise); g.weights owns the bytes.
//
// Also handles typed data fields (float_data, int64_data, ...; copied into ledger buffers),
// external data files (mapped), opset imports of every domain, symbolic dims, and initializers
// whose raw bytes are not aligned to their element size (small ones are copied, see .cpp).
// Thread-safe (no shared state besides the ledger).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/graph.h"
#include "engine/npy.h"
#include "engine/weight_store.h"
#include "memory/ledger.h"

namespace seer::engine {

struct ImportOptions {
  MemoryLedger* ledger = nullptr;  // required
  DeviceId device;
  std::string owner = "model";     // ledger owner of every weight buffer
  bool resolve_ops = true;         // check every node against OpRegistry::global()
  Reservation* reservation = nullptr;  // when set, the weights are drawn from it (see WeightStore)
};

struct ImportedGraph {
  Graph graph;
  std::unique_ptr<WeightStore> weights;  // owns the bytes the graph's constants point into
  uint64_t file_bytes = 0;
};

StatusOr<ImportedGraph> import_onnx(const std::string& path, const ImportOptions& options);

// A TensorProto file (the ONNX backend tests' input_0.pb) as an owned host array.
StatusOr<NpyArray> read_tensor_proto(const std::string& path);
// Same from bytes already in memory (tests); the weights are copied into ledger buffers.
StatusOr<ImportedGraph> import_onnx_bytes(const void* data, size_t size, const ImportOptions& options,
                                          const std::string& base_dir = ".");

}  // namespace seer::engine
