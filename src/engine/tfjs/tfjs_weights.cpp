#include "engine/tfjs/tfjs_weights.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/half.h"

namespace seer::engine {
namespace {

using nlohmann::json;

// JSON access that reports the field instead of throwing.
StatusOr<const json*> field(const json& j, const char* key, const std::string& where) {
  if (!j.is_object() || !j.contains(key))
    return Status::invalid_argument("TF.js weights manifest: {} has no '{}'", where, key);
  return &j.at(key);
}

Status read_file_into(const std::filesystem::path& p, std::vector<uint8_t>& out) {
  std::ifstream f(p, std::ios::binary);
  if (!f) return Status::not_found("TF.js weight shard '{}' not found", p.string());
  f.seekg(0, std::ios::end);
  const auto size = static_cast<size_t>(f.tellg());
  f.seekg(0);
  const size_t at = out.size();
  out.resize(at + size);
  if (size && !f.read(reinterpret_cast<char*>(out.data() + at), static_cast<std::streamsize>(size)))
    return Status::invalid_argument("TF.js weight shard '{}': read failed", p.string());
  return Status();
}

Status parse_entry(const json& w, size_t group, TfjsWeightEntry* e) {
  if (!w.is_object() || !w.contains("name") || !w["name"].is_string())
    return Status::invalid_argument("TF.js weights manifest: a weight without a name");
  e->name = w["name"].get<std::string>();
  e->group = group;
  const std::string where = fmt::format("weight '{}'", e->name);
  SEER_ASSIGN_OR_RETURN(const json* shape, field(w, "shape", where));
  if (!shape->is_array() || !Shape::fits(shape->size()))
    return Status::unsupported("TF.js {}: shape {} (rank up to {})", where, shape->dump(), kMaxRank);
  for (const json& d : *shape) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0)
      return Status::invalid_argument("TF.js {}: bad shape {}", where, shape->dump());
    e->shape.push_back(d.get<int64_t>());
  }
  const std::string dtype = w.value("dtype", std::string("float32"));
  if (dtype != "float32")
    return Status::unsupported("TF.js {}: dtype '{}' (only float32 weights)", where, dtype);
  size_t elem = 4;
  if (w.contains("quantization")) {
    const json& q = w["quantization"];
    e->quantization = q.value("dtype", std::string());
    if (e->quantization == "uint8" || e->quantization == "uint16") {
      if (!q.contains("scale") || !q.contains("min") || !q["scale"].is_number() || !q["min"].is_number())
        return Status::invalid_argument("TF.js {}: {} quantization without scale/min", where, e->quantization);
      e->scale = q["scale"].get<double>();
      e->min = q["min"].get<double>();
      elem = e->quantization == "uint8" ? 1 : 2;
    } else if (e->quantization == "float16") {
      elem = 2;
    } else {
      return Status::unsupported("TF.js {}: quantization dtype '{}'", where, e->quantization);
    }
  }
  e->bytes = static_cast<uint64_t>(e->shape.numel()) * elem;
  return Status();
}

}  // namespace

StatusOr<TfjsWeights> TfjsWeights::read(const std::string& dir, const json& manifest) {
  if (!manifest.is_array())
    return Status::invalid_argument("TF.js model.json: weightsManifest is not an array");
  TfjsWeights out;
  for (size_t g = 0; g < manifest.size(); ++g) {
    const json& group = manifest[g];
    const std::string where = fmt::format("weightsManifest[{}]", g);
    SEER_ASSIGN_OR_RETURN(const json* paths, field(group, "paths", where));
    SEER_ASSIGN_OR_RETURN(const json* weights, field(group, "weights", where));
    if (!paths->is_array() || !weights->is_array())
      return Status::invalid_argument("TF.js {}: paths and weights must be arrays", where);
    std::vector<uint8_t> stream;
    for (const json& p : *paths) {
      if (!p.is_string()) return Status::invalid_argument("TF.js {}: a path is not a string", where);
      const std::string rel = p.get<std::string>();
      // Shards live next to model.json; a path that climbs out of the folder is refused.
      if (rel.empty() || rel[0] == '/' || rel.find("..") != std::string::npos)
        return Status::invalid_argument("TF.js {}: bad shard path '{}'", where, rel);
      SEER_RETURN_IF_ERROR(read_file_into(std::filesystem::path(dir) / rel, stream));
    }
    uint64_t offset = 0;
    for (const json& w : *weights) {
      TfjsWeightEntry e;
      SEER_RETURN_IF_ERROR(parse_entry(w, g, &e));
      e.offset = offset;
      offset += e.bytes;
      if (offset > stream.size())
        return Status::invalid_argument(
            "TF.js {}: weight '{}' ends at byte {} but the shards ({}) hold only {} bytes "
            "(missing or truncated shard)", where, e.name, offset, paths->dump(), stream.size());
      if (out.index_.count(e.name))
        return Status::invalid_argument("TF.js weights manifest: weight '{}' appears twice", e.name);
      out.index_.emplace(e.name, out.entries_.size());
      out.entries_.push_back(std::move(e));
    }
    out.streams_.push_back(std::move(stream));
  }
  return out;
}

StatusOr<TfjsWeights> TfjsWeights::read_model_json(const std::string& model_json) {
  std::ifstream f(model_json);
  if (!f) return Status::not_found("TF.js model '{}' not found", model_json);
  json j = json::parse(f, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("weightsManifest"))
    return Status::invalid_argument("'{}' is not a TF.js model.json (no weightsManifest)", model_json);
  std::string dir = std::filesystem::path(model_json).parent_path().string();
  return read(dir.empty() ? "." : dir, j["weightsManifest"]);
}

const TfjsWeightEntry* TfjsWeights::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

Status TfjsWeights::decode(const TfjsWeightEntry& e, float* dst) const {
  const uint8_t* src = streams_[e.group].data() + e.offset;
  const size_t n = static_cast<size_t>(e.shape.numel());
  if (e.quantization.empty()) {
    std::memcpy(dst, src, n * sizeof(float));  // little-endian float32, as on this host
  } else if (e.quantization == "uint8") {
    // tfjs: values[i] = v * scale + min in double, stored into a Float32Array.
    for (size_t i = 0; i < n; ++i) dst[i] = static_cast<float>(double(src[i]) * e.scale + e.min);
  } else if (e.quantization == "uint16") {
    for (size_t i = 0; i < n; ++i) {
      uint16_t q;
      std::memcpy(&q, src + 2 * i, 2);
      dst[i] = static_cast<float>(double(q) * e.scale + e.min);
    }
  } else if (e.quantization == "float16") {
    for (size_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, src + 2 * i, 2);
      dst[i] = half_to_float(h);
    }
  } else {
    return Status::unsupported("TF.js weight '{}': quantization '{}'", e.name, e.quantization);
  }
  return Status();
}

StatusOr<std::vector<float>> TfjsWeights::decode(std::string_view name) const {
  const TfjsWeightEntry* e = find(name);
  if (!e) return Status::invalid_argument("TF.js weight '{}' is not in the manifest", name);
  std::vector<float> v(static_cast<size_t>(e->shape.numel()));
  SEER_RETURN_IF_ERROR(decode(*e, v.data()));
  return v;
}

}  // namespace seer::engine
