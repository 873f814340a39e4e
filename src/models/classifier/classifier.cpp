#include "models/classifier/classifier.h"

#include <algorithm>
#include <cstring>
#include <numeric>

namespace seer {

bool Classifier::recognise(const std::filesystem::path& dir) {
  // Parsing the spec is the check: a seer.json of another kind, or a config.json without
  // id2label (a text model, a VLM), is not a classifier. The files are a few KiB.
  return read_classifier_spec(dir).ok();
}

namespace {

// The graph's dims must agree with the spec where the graph fixes them (dynamic dims pass).
Status check_input(const engine::IoInfo& in, const PreprocessSpec& p, const std::string& where) {
  if (in.dtype != engine::DataType::kFloat32 || in.shape.rank() != 4) {
    return Status::unsupported("{}: input '{}' is not a float32 image batch of rank 4", where, in.name);
  }
  const bool nhwc = p.layout == TensorLayout::kNHWC;
  const int64_t want[3] = {nhwc ? p.height : 3, nhwc ? p.width : p.height, nhwc ? 3 : p.width};
  for (int i = 0; i < 3; ++i) {
    const int64_t got = in.shape[i + 1];
    if (got > 0 && got != want[i]) {
      return Status::invalid_argument(
          "{}: input '{}' is [N,{},{},{}] but the spec wants [N,{},{},{}] ({})", where, in.name, in.shape[1],
          in.shape[2], in.shape[3], want[0], want[1], want[2], to_string(p.layout));
    }
  }
  return {};
}

}  // namespace

StatusOr<std::unique_ptr<Classifier>> Classifier::load(const std::filesystem::path& dir,
                                                       const ClassifierLoadOptions& options) {
  if (options.ledger == nullptr) return Status::internal("Classifier::load: no ledger");
  std::unique_ptr<Classifier> c(new Classifier());
  SEER_ASSIGN_OR_RETURN(c->spec_, read_classifier_spec(dir));
  c->ledger_ = options.ledger;
  c->owner_ = options.owner.empty() ? "classifier" : options.owner;
  c->device_ = options.device;
  SEER_ASSIGN_OR_RETURN(c->model_, engine::Model::load(c->spec_.model_path.string(),
                                                       engine_load_options(options, c->owner_)));

  const auto& ins = c->model_->inputs();
  const auto& outs = c->model_->outputs();
  if (ins.size() != 1 || outs.empty()) {
    return Status::unsupported("{}: a classifier has one input and an output; this graph has {} and {}",
                               dir.string(), ins.size(), outs.size());
  }
  SEER_RETURN_IF_ERROR(check_input(ins[0], c->spec_.preprocess, dir.string()));
  const engine::Shape& out = outs[0].shape;
  if (out.rank() != 2 || outs[0].dtype != engine::DataType::kFloat32) {
    return Status::unsupported("{}: output '{}' is not float32 [N, classes]", dir.string(), outs[0].name);
  }
  if (out[1] > 0 && static_cast<size_t>(out[1]) != c->spec_.labels.size()) {
    return Status::invalid_argument("{}: output '{}' has {} classes but the labels {}", dir.string(),
                                    outs[0].name, out[1], c->spec_.labels.size());
  }
  return c;
}

StatusOr<std::unique_ptr<ClassifierContext>> Classifier::create_context(Reservation* from) const {
  const size_t bytes = static_cast<size_t>(max_batch()) * tensor_elements(preprocess()) * sizeof(float);
  return ImageModelContext::create(*model_, bytes, *ledger_, device_, owner_, from);
}

Status Classifier::infer(ClassifierContext& ctx, std::span<const Tile* const> tiles,
                         std::vector<float>* probs) const {
  const size_t n = tiles.size();
  probs->clear();
  if (n == 0) return {};
  if (n > static_cast<size_t>(max_batch())) {
    return Status::invalid_argument("batch of {} over the classifier's max batch {}", n, max_batch());
  }
  const PreprocessSpec& p = preprocess();
  const Tile::Type want = p.filter == ResizeFilter::kTfBilinearAlignCorners ? Tile::Type::kF32 : Tile::Type::kU8;
  const size_t per_image = tensor_elements(p);
  float* staging = ctx.staging();
  for (size_t i = 0; i < n; ++i) {
    const Tile& t = *tiles[i];
    if (t.width != p.width || t.height != p.height || t.type != want) {
      return Status::invalid_argument("tile {} is {}x{} {}, the classifier wants {}x{} {}", i, t.width, t.height,
                                      t.type == Tile::Type::kU8 ? "uint8" : "float32", p.width, p.height,
                                      want == Tile::Type::kU8 ? "uint8" : "float32");
    }
    write_tensor(t, p, staging + i * per_image);
  }
  const int64_t bn = static_cast<int64_t>(n);
  const engine::Shape shape = p.layout == TensorLayout::kNHWC ? engine::Shape{bn, p.height, p.width, 3}
                                                              : engine::Shape{bn, 3, p.height, p.width};
  engine::Tensor input(engine::DataType::kFloat32, shape, static_cast<void*>(staging));
  SEER_RETURN_IF_ERROR(model_->run(ctx.exec(), {&input, 1}, ctx.outputs()));
  const engine::Tensor& out = ctx.outputs()[0];
  const size_t c = labels().size();
  if (out.rank() != 2 || out.shape[0] != bn || out.shape[1] != static_cast<int64_t>(c)) {
    return Status::internal("classifier output has an unexpected shape (rank {})", out.rank());
  }
  probs->resize(n * c);
  std::memcpy(probs->data(), out.data<float>(), probs->size() * sizeof(float));
  for (size_t i = 0; i < n; ++i) apply_activation(spec_.activation, std::span(*probs).subspan(i * c, c));
  return {};
}

StatusOr<std::vector<ClassifyResult>> Classifier::classify(ClassifierContext& ctx,
                                                           std::span<const Tile* const> tiles) const {
  std::vector<float> probs;
  SEER_RETURN_IF_ERROR(infer(ctx, tiles, &probs));
  const size_t c = labels().size();
  std::vector<ClassifyResult> results(tiles.size());
  std::vector<size_t> order(c);
  for (size_t i = 0; i < tiles.size(); ++i) {
    const float* row = probs.data() + i * c;
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [row](size_t a, size_t b) { return row[a] > row[b]; });
    auto& preds = results[i].predictions;
    preds.reserve(c);
    for (size_t k : order) preds.push_back(ClassScore{labels()[k], row[k]});
  }
  return results;
}

}  // namespace seer
