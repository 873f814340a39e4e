#include "runtime/model_backend.h"

#include <system_error>

#include "runtime/classifier_backend.h"

namespace seer {

namespace fs = std::filesystem;

std::string_view to_string(ModelKind kind) {
  switch (kind) {
    case ModelKind::kTagger: return "tagger";
    case ModelKind::kClassifier: return "classifier";
    case ModelKind::kVlm: return "vlm";
  }
  return "?";
}

std::optional<ModelKind> parse_model_kind(std::string_view text) {
  for (ModelKind k : {ModelKind::kTagger, ModelKind::kClassifier, ModelKind::kVlm}) {
    if (to_string(k) == text) return k;
  }
  return std::nullopt;
}

void ModelFamilyRegistry::add(ModelFamily family) {
  for (auto& f : families_) {
    if (f.kind == family.kind) {
      f = std::move(family);
      return;
    }
  }
  families_.push_back(std::move(family));
}

std::optional<ModelDescriptor> ModelFamilyRegistry::recognise(const fs::path& dir) const {
  for (const auto& f : families_) {
    if (!f.recognise) continue;
    if (auto d = f.recognise(dir)) return d;
  }
  return std::nullopt;
}

StatusOr<std::unique_ptr<ModelBackend>> ModelFamilyRegistry::create(const ModelDescriptor& d) const {
  for (const auto& f : families_) {
    if (f.kind == d.kind && f.create) return f.create(d);
  }
  return Status::unsupported("model '{}' is a {} and seer has no {} backend yet", d.id,
                             to_string(d.kind), to_string(d.kind));
}

bool ModelFamilyRegistry::has_backend(ModelKind kind) const {
  for (const auto& f : families_) {
    if (f.kind == kind && f.create) return true;
  }
  return false;
}

std::optional<uint64_t> file_size_of(const fs::path& p) {
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) return std::nullopt;
  const uint64_t n = fs::file_size(p, ec);
  if (ec) return std::nullopt;
  return n;
}

namespace {

std::optional<ModelDescriptor> recognise_files(const fs::path& dir, ModelKind kind,
                                               std::initializer_list<const char*> required) {
  ModelDescriptor d;
  d.kind = kind;
  d.format = "onnx";
  for (const char* name : required) {
    auto n = file_size_of(dir / name);
    if (!n) return std::nullopt;
    d.size_bytes += *n;
    d.files.emplace_back(name);
  }
  return d;
}

}  // namespace

std::optional<ModelDescriptor> recognise_wd14_tagger(const fs::path& dir) {
  return recognise_files(dir, ModelKind::kTagger, {"model.onnx", "selected_tags.csv"});
}

ModelFamilyRegistry default_family_registry() {
  ModelFamilyRegistry r;
  r.add({ModelKind::kTagger, "onnx", recognise_wd14_tagger, nullptr});
  r.add({ModelKind::kClassifier, "tfjs|onnx", recognise_classifier, nullptr});
  return r;
}

}  // namespace seer
