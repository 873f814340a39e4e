#include "engine/tfjs/tfjs_import.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/op.h"
#include "engine/tfjs/tfjs_graph_builder.h"
#include "engine/tfjs/tfjs_weights.h"

namespace seer::engine {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string model_json_of(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return (fs::path(path) / "model.json").string();
  return path;
}

Status import_into(const json& model, const std::string& dir, ImportedGraph& out) {
  if (!model.is_object() || !model.contains("modelTopology") || !model.contains("weightsManifest"))
    return Status::invalid_argument("not a TF.js model.json (needs modelTopology and weightsManifest)");
  SEER_ASSIGN_OR_RETURN(TfjsWeights weights, TfjsWeights::read(dir, model["weightsManifest"]));
  const json& topology = model["modelTopology"];
  Graph& g = out.graph;
  g.opsets[""] = tfjs::kOpset;
  tfjs::GraphBuilder b(g, *out.weights, weights);
  const std::string format = model.value("format", std::string());
  if (format == "graph-model" || (topology.is_object() && topology.contains("node"))) {
    g.name = "tfjs-graph-model";
    SEER_RETURN_IF_ERROR(tfjs::translate_graph_model(topology, model, b));
  } else if (format.empty() || format == "layers-model") {
    g.name = "tfjs-layers-model";
    SEER_RETURN_IF_ERROR(tfjs::translate_layers_model(topology, b));
  } else {
    return Status::unsupported("TF.js model format '{}'", format);
  }
  SEER_RETURN_IF_ERROR(g.finalize());
  for (const Node& n : g.nodes) {
    const OpDef* def;
    SEER_RETURN_IF_ERROR(OpRegistry::global().resolve(n, &def));
  }
  return Status();
}

}  // namespace

bool is_tfjs_model_path(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return fs::is_regular_file(fs::path(path) / "model.json", ec);
  const std::string name = fs::path(path).filename().string();
  return name.size() >= 10 && name.compare(name.size() - 10, 10, "model.json") == 0;
}

StatusOr<ImportedGraph> import_tfjs(const std::string& path, const ImportOptions& options) {
  if (!options.ledger) return Status::internal("import_tfjs: no ledger");
  const std::string file = model_json_of(path);
  std::ifstream f(file);
  if (!f) return Status::not_found("TF.js model '{}' not found", file);
  ImportedGraph out;
  out.weights = std::make_unique<WeightStore>(*options.ledger, options.device, options.owner, options.reservation);
  std::string dir = fs::path(file).parent_path().string();
  if (dir.empty()) dir = ".";
  // nlohmann::json and std::stoll throw on malformed input; no exception leaves the importer.
  Status st;
  try {
    json model = json::parse(f, nullptr, /*allow_exceptions=*/false);
    if (model.is_discarded()) return Status::invalid_argument("'{}' is not valid JSON", file);
    st = import_into(model, dir, out);
  } catch (const std::exception& e) {
    st = Status::invalid_argument("malformed TF.js model: {}", e.what());
  }
  SEER_RETURN_IF_ERROR(st.with_context(file));
  std::error_code ec;
  out.file_bytes = fs::file_size(file, ec);
  return out;
}

}  // namespace seer::engine
