#include "models/classifier/classifier_spec.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <optional>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <system_error>

namespace seer {

namespace fs = std::filesystem;
using nlohmann::json;

std::string_view to_string(ClassifierActivation a) {
  switch (a) {
    case ClassifierActivation::kNone: return "none";
    case ClassifierActivation::kSoftmax: return "softmax";
    case ClassifierActivation::kSigmoid: return "sigmoid";
  }
  return "?";
}

namespace {

StatusOr<json> parse_object(std::string_view text, const char* what) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::invalid_argument("{} is not valid JSON", what);
  if (!j.is_object()) return Status::invalid_argument("{} is not a JSON object", what);
  return j;
}

// The value at `path` ("a.b.c") or nullptr.
const json* find_path(const json& j, std::string_view path) {
  const json* cur = &j;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t dot = path.find('.', start);
    const std::string key(path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(key);
    if (it == cur->end()) return nullptr;
    cur = &*it;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return cur;
}

StatusOr<double> number_at(const json& j, std::string_view path, const char* file) {
  const json* v = find_path(j, path);
  if (!v || !v->is_number()) return Status::invalid_argument("{}: '{}' must be a number", file, path);
  return v->get<double>();
}

StatusOr<std::string> string_at(const json& j, std::string_view path, const char* file) {
  const json* v = find_path(j, path);
  if (!v || !v->is_string()) return Status::invalid_argument("{}: '{}' must be a string", file, path);
  return v->get<std::string>();
}

std::optional<bool> bool_at(const json& j, std::string_view path) {
  const json* v = find_path(j, path);
  if (!v || !v->is_boolean()) return std::nullopt;
  return v->get<bool>();
}

StatusOr<std::array<float, 3>> triple_at(const json& j, std::string_view path, const char* file) {
  const json* v = find_path(j, path);
  std::array<float, 3> out{};
  if (v && v->is_number()) {  // HF allows one number for all channels
    out.fill(v->get<float>());
    return out;
  }
  if (!v || !v->is_array() || v->size() != 3) {
    return Status::invalid_argument("{}: '{}' must be 3 numbers (R, G, B)", file, path);
  }
  for (size_t i = 0; i < 3; ++i) {
    if (!(*v)[i].is_number()) return Status::invalid_argument("{}: '{}[{}]' must be a number", file, path, i);
    out[i] = (*v)[i].get<float>();
  }
  return out;
}

bool close_to(double a, double b) { return std::fabs(a - b) <= 1e-9 * std::max(1.0, std::fabs(b)); }

StatusOr<std::vector<std::string>> label_list(const json& j, const char* file) {
  const json* v = find_path(j, "labels");
  if (!v || !v->is_array() || v->empty()) {
    return Status::invalid_argument("{}: 'labels' must be a non-empty array of strings", file);
  }
  std::vector<std::string> labels;
  for (const auto& l : *v) {
    if (!l.is_string()) return Status::invalid_argument("{}: 'labels' must hold strings", file);
    labels.push_back(l.get<std::string>());
  }
  return labels;
}

// HF id2label: {"0": "normal", "1": "nsfw"}; every index 0..n-1 exactly once.
StatusOr<std::vector<std::string>> id2label_list(const json& config) {
  auto it = config.find("id2label");
  if (it == config.end() || !it->is_object() || it->empty()) {
    return Status::invalid_argument("config.json: 'id2label' must be a non-empty object");
  }
  std::map<long, std::string> by_id;
  for (const auto& [k, v] : it->items()) {
    char* end = nullptr;
    const long id = std::strtol(k.c_str(), &end, 10);
    if (k.empty() || *end != '\0' || id < 0) {
      return Status::invalid_argument("config.json: id2label key '{}' is not a class index", k);
    }
    if (!v.is_string()) return Status::invalid_argument("config.json: id2label['{}'] must be a string", k);
    by_id[id] = v.get<std::string>();
  }
  std::vector<std::string> labels;
  for (const auto& [id, label] : by_id) {
    if (id != static_cast<long>(labels.size())) {
      return Status::invalid_argument("config.json: id2label has no class {} (indices must be 0..{})",
                                      labels.size(), by_id.size() - 1);
    }
    labels.push_back(label);
  }
  return labels;
}

StatusOr<std::string> read_small_file(const fs::path& p) {
  std::error_code ec;
  const auto size = fs::file_size(p, ec);
  if (ec) return Status::not_found("{}: {}", p.string(), ec.message());
  // Spec files are a few KiB; anything large is not one (and is never read whole here).
  if (size > (4u << 20)) return Status::invalid_argument("{} is {} bytes; not a spec file", p.string(), size);
  std::ifstream in(p, std::ios::binary);
  if (!in) return Status::not_found("cannot open {}", p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

}  // namespace

StatusOr<ClassifierSpec> parse_nsfwjs_spec(std::string_view seer_json) {
  constexpr const char* kFile = "seer.json";
  SEER_ASSIGN_OR_RETURN(json j, parse_object(seer_json, kFile));
  SEER_ASSIGN_OR_RETURN(std::string kind, string_at(j, "kind", kFile));
  if (kind != "classifier") return Status::invalid_argument("{}: 'kind' is '{}', not 'classifier'", kFile, kind);
  ClassifierSpec s;
  s.format = "tfjs";
  if (const json* n = find_path(j, "name"); n && n->is_string()) s.name = n->get<std::string>();
  s.is_default = bool_at(j, "default").value_or(false);
  SEER_ASSIGN_OR_RETURN(s.labels, label_list(j, kFile));

  // Input [-1, S, S, 3] NHWC.
  SEER_ASSIGN_OR_RETURN(std::string layout, string_at(j, "input.layout", kFile));
  if (layout != "NHWC") return Status::unsupported("{}: input layout '{}' (only NHWC)", kFile, layout);
  const json* shape = find_path(j, "input.shape");
  if (!shape || !shape->is_array() || shape->size() != 4 || !(*shape)[1].is_number_integer() ||
      !(*shape)[2].is_number_integer() || (*shape)[3] != 3) {
    return Status::invalid_argument("{}: 'input.shape' must be [-1, H, W, 3]", kFile);
  }
  const int h = (*shape)[1].get<int>(), w = (*shape)[2].get<int>();

  // Preprocessing: exactly nsfwjs's (tf resizeBilinear alignCorners squash of x/255), with an
  // optional mean/std; anything else would silently change the answers, so it is refused.
  SEER_ASSIGN_OR_RETURN(std::string color, string_at(j, "preprocess.color", kFile));
  if (color != "RGB") return Status::unsupported("{}: preprocess.color '{}' (only RGB)", kFile, color);
  SEER_ASSIGN_OR_RETURN(double scale, number_at(j, "preprocess.scale", kFile));
  if (!close_to(scale, 1.0 / 255.0)) {
    return Status::unsupported("{}: preprocess.scale {} (only 1/255, as nsfwjs divides by 255)", kFile, scale);
  }
  SEER_ASSIGN_OR_RETURN(std::string method, string_at(j, "preprocess.resize.method", kFile));
  if (method != "bilinear" || bool_at(j, "preprocess.resize.align_corners") != true ||
      bool_at(j, "preprocess.resize.half_pixel_centers").value_or(false) ||
      bool_at(j, "preprocess.resize.keep_aspect").value_or(false)) {
    return Status::unsupported("{}: only the bilinear alignCorners squash resize of nsfwjs is supported", kFile);
  }
  SEER_ASSIGN_OR_RETURN(double rw, number_at(j, "preprocess.resize.width", kFile));
  SEER_ASSIGN_OR_RETURN(double rh, number_at(j, "preprocess.resize.height", kFile));
  if (static_cast<int>(rw) != w || static_cast<int>(rh) != h) {
    return Status::invalid_argument("{}: resize {}x{} differs from the input {}x{}", kFile, rw, rh, w, h);
  }
  SEER_ASSIGN_OR_RETURN(s.preprocess, preprocess_spec("nsfwjs", w));
  s.preprocess.width = w;
  s.preprocess.height = h;
  if (find_path(j, "preprocess.mean")) {
    SEER_ASSIGN_OR_RETURN(s.preprocess.mean, triple_at(j, "preprocess.mean", kFile));
  }
  if (find_path(j, "preprocess.std")) {
    SEER_ASSIGN_OR_RETURN(s.preprocess.std, triple_at(j, "preprocess.std", kFile));
  }
  for (float v : s.preprocess.std) {
    if (!(v > 0)) return Status::invalid_argument("{}: preprocess.std must be positive", kFile);
  }

  // The output layer's activation: softmax/sigmoid means the graph already gives probabilities.
  SEER_ASSIGN_OR_RETURN(std::string act, string_at(j, "output.activation", kFile));
  if (act == "softmax" || act == "sigmoid") {
    s.activation = ClassifierActivation::kNone;
  } else if (act == "linear" || act == "none") {
    s.activation = ClassifierActivation::kSoftmax;
  } else {
    return Status::unsupported("{}: output.activation '{}' (softmax, sigmoid or linear)", kFile, act);
  }
  if (const json* os = find_path(j, "output.shape"); os && os->is_array() && os->size() == 2 &&
                                                     (*os)[1].is_number_integer() &&
                                                     (*os)[1].get<size_t>() != s.labels.size()) {
    return Status::invalid_argument("{}: output.shape has {} classes but 'labels' {}", kFile,
                                    (*os)[1].get<size_t>(), s.labels.size());
  }
  return s;
}

StatusOr<ClassifierSpec> parse_hf_classifier_spec(std::string_view config_json,
                                                  std::string_view preprocessor_json) {
  constexpr const char* kFile = "preprocessor_config.json";
  SEER_ASSIGN_OR_RETURN(json config, parse_object(config_json, "config.json"));
  SEER_ASSIGN_OR_RETURN(json pre, parse_object(preprocessor_json, kFile));
  ClassifierSpec s;
  s.format = "onnx";
  if (auto it = config.find("_name_or_path"); it != config.end() && it->is_string()) s.name = it->get<std::string>();
  SEER_ASSIGN_OR_RETURN(s.labels, id2label_list(config));
  s.activation = ClassifierActivation::kSoftmax;
  if (auto it = config.find("problem_type"); it != config.end() && it->is_string()) {
    const std::string pt = it->get<std::string>();
    if (pt == "multi_label_classification") {
      s.activation = ClassifierActivation::kSigmoid;
    } else if (pt != "single_label_classification") {
      return Status::unsupported("config.json: problem_type '{}' is not an image classification", pt);
    }
  }

  // Size: {"height", "width"} or one int (ViTImageProcessor's forms). Processors that resize the
  // shortest edge and centre-crop (CLIP, ConvNeXT) would need a crop the preprocess layer lacks.
  int w = 0, h = 0;
  const json* size = find_path(pre, "size");
  if (size && size->is_number_integer()) {
    w = h = size->get<int>();
  } else if (size && size->is_object() && size->contains("height") && size->contains("width")) {
    SEER_ASSIGN_OR_RETURN(double hh, number_at(*size, "height", kFile));
    SEER_ASSIGN_OR_RETURN(double ww, number_at(*size, "width", kFile));
    h = static_cast<int>(hh);
    w = static_cast<int>(ww);
  } else {
    return Status::unsupported("{}: 'size' must be {{\"height\", \"width\"}} or an int (no shortest_edge/crop)", kFile);
  }
  if (w <= 0 || h <= 0 || w > 4096 || h > 4096) return Status::invalid_argument("{}: size {}x{} is out of range", kFile, w, h);
  if (bool_at(pre, "do_center_crop").value_or(false)) {
    return Status::unsupported("{}: do_center_crop is not supported", kFile);
  }
  if (!bool_at(pre, "do_resize").value_or(true)) {
    return Status::unsupported("{}: do_resize false (the graph needs a fixed size)", kFile);
  }
  SEER_ASSIGN_OR_RETURN(s.preprocess, preprocess_spec("vit", w));
  s.preprocess.name = "hf";
  s.preprocess.width = w;
  s.preprocess.height = h;
  // PIL resample codes (HF passes them to Image.resize): 2 BILINEAR (the default), 3 BICUBIC.
  int resample = 2;
  if (const json* r = find_path(pre, "resample"); r && !r->is_null()) {
    if (!r->is_number_integer()) return Status::invalid_argument("{}: 'resample' must be an int", kFile);
    resample = r->get<int>();
  }
  if (resample == 2) {
    s.preprocess.filter = ResizeFilter::kPillowBilinear;
  } else if (resample == 3) {
    s.preprocess.filter = ResizeFilter::kPillowBicubic;
  } else {
    return Status::unsupported("{}: resample {} (only 2 BILINEAR and 3 BICUBIC)", kFile, resample);
  }
  s.preprocess.scale = 1.0f;
  if (bool_at(pre, "do_rescale").value_or(true)) {
    double f = 1.0 / 255.0;
    if (find_path(pre, "rescale_factor")) {
      SEER_ASSIGN_OR_RETURN(f, number_at(pre, "rescale_factor", kFile));
    }
    s.preprocess.scale = static_cast<float>(f);
  }
  s.preprocess.mean = {0.f, 0.f, 0.f};
  s.preprocess.std = {1.f, 1.f, 1.f};
  if (bool_at(pre, "do_normalize").value_or(true)) {
    // ViTImageProcessor's defaults are IMAGENET_STANDARD (0.5, 0.5, 0.5).
    s.preprocess.mean = s.preprocess.std = {0.5f, 0.5f, 0.5f};
    if (find_path(pre, "image_mean")) {
      SEER_ASSIGN_OR_RETURN(s.preprocess.mean, triple_at(pre, "image_mean", kFile));
    }
    if (find_path(pre, "image_std")) {
      SEER_ASSIGN_OR_RETURN(s.preprocess.std, triple_at(pre, "image_std", kFile));
    }
  }
  for (float v : s.preprocess.std) {
    if (!(v > 0)) return Status::invalid_argument("{}: image_std must be positive", kFile);
  }
  return s;
}

std::string classifier_layout(const fs::path& dir) {
  if (is_file(dir / kSeerMetaFile) && is_file(dir / kTfjsModelFile)) return "tfjs";
  if (is_file(dir / kOnnxModelFile) && is_file(dir / kHfConfigFile) && is_file(dir / kHfPreprocessorFile)) {
    return "onnx";
  }
  return "";
}

StatusOr<ClassifierSpec> read_classifier_spec(const fs::path& dir) {
  const std::string layout = classifier_layout(dir);
  if (layout == "tfjs") {
    SEER_ASSIGN_OR_RETURN(std::string text, read_small_file(dir / kSeerMetaFile));
    auto spec = parse_nsfwjs_spec(text);
    if (!spec.ok()) return spec.status().with_context(dir.string());
    spec->model_path = dir;
    return spec;
  }
  if (layout == "onnx") {
    SEER_ASSIGN_OR_RETURN(std::string config, read_small_file(dir / kHfConfigFile));
    SEER_ASSIGN_OR_RETURN(std::string pre, read_small_file(dir / kHfPreprocessorFile));
    auto spec = parse_hf_classifier_spec(config, pre);
    if (!spec.ok()) return spec.status().with_context(dir.string());
    spec->model_path = dir / kOnnxModelFile;
    return spec;
  }
  return Status::not_found("{} is not a classifier folder (needs {} + {}, or {} + {} + {})", dir.string(),
                           kTfjsModelFile, kSeerMetaFile, kOnnxModelFile, kHfConfigFile, kHfPreprocessorFile);
}

void apply_activation(ClassifierActivation a, std::span<float> row) {
  if (row.empty() || a == ClassifierActivation::kNone) return;
  if (a == ClassifierActivation::kSigmoid) {
    for (float& v : row) v = static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(v))));
    return;
  }
  const double mx = *std::max_element(row.begin(), row.end());
  double sum = 0;
  for (float v : row) sum += std::exp(static_cast<double>(v) - mx);
  for (float& v : row) v = static_cast<float>(std::exp(static_cast<double>(v) - mx) / sum);
}

}  // namespace seer
