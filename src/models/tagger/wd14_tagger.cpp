#include "models/tagger/wd14_tagger.h"

#include <cstring>
#include <system_error>

namespace seer {

bool Wd14Tagger::is_model_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  return std::filesystem::is_regular_file(dir / kModelFile, ec) &&
         std::filesystem::is_regular_file(dir / kTagsFile, ec);
}

StatusOr<std::unique_ptr<Wd14Tagger>> Wd14Tagger::load(const std::filesystem::path& dir,
                                                       const TaggerLoadOptions& options) {
  if (options.ledger == nullptr) return Status::internal("Wd14Tagger::load: no ledger");
  if (!is_model_dir(dir)) {
    return Status::not_found("{} is not a WD14 tagger folder (needs {} and {})", dir.string(),
                             kModelFile, kTagsFile);
  }
  std::unique_ptr<Wd14Tagger> t(new Wd14Tagger());
  t->ledger_ = options.ledger;
  t->owner_ = options.owner.empty() ? "tagger" : options.owner;
  t->device_ = options.device;
  SEER_ASSIGN_OR_RETURN(t->tags_, TagList::load(dir / kTagsFile));
  SEER_ASSIGN_OR_RETURN(t->model_, engine::Model::load((dir / kModelFile).string(),
                                                       engine_load_options(options, t->owner_)));

  const auto& ins = t->model_->inputs();
  const auto& outs = t->model_->outputs();
  if (ins.size() != 1 || outs.empty()) {
    return Status::unsupported("{}: a WD14 tagger has one input and one output; this graph has {} and {}",
                               dir.string(), ins.size(), outs.size());
  }
  const engine::Shape& in = ins[0].shape;
  if (in.rank() != 4 || ins[0].dtype != engine::DataType::kFloat32) {
    return Status::unsupported("{}: input '{}' is not a float32 image batch of rank 4", dir.string(),
                               ins[0].name);
  }
  // NHWC [N,H,W,3] (every WD14 export) or NCHW [N,3,H,W]; a dynamic spatial dim means 448.
  auto dim_or = [](int64_t d) { return d > 0 ? static_cast<int>(d) : 448; };
  SEER_ASSIGN_OR_RETURN(t->spec_, preprocess_spec("wd14", 448));
  if (in[3] == 3) {
    t->spec_.layout = TensorLayout::kNHWC;
    t->spec_.height = dim_or(in[1]);
    t->spec_.width = dim_or(in[2]);
  } else if (in[1] == 3) {
    t->spec_.layout = TensorLayout::kNCHW;
    t->spec_.height = dim_or(in[2]);
    t->spec_.width = dim_or(in[3]);
  } else {
    return Status::unsupported("{}: input '{}' has no 3-channel axis (shape rank 4, dims {} {} {} {})",
                               dir.string(), ins[0].name, in[0], in[1], in[2], in[3]);
  }
  if (t->spec_.height != t->spec_.width) {
    return Status::unsupported("{}: non-square input {}x{}", dir.string(), t->spec_.width,
                               t->spec_.height);
  }
  const engine::Shape& out = outs[0].shape;
  if (out.rank() != 2 || outs[0].dtype != engine::DataType::kFloat32) {
    return Status::unsupported("{}: output '{}' is not float32 [N, classes]", dir.string(),
                               outs[0].name);
  }
  if (out[1] > 0) SEER_RETURN_IF_ERROR(t->tags_.check_class_count(out[1]).with_context(dir.string()));
  return t;
}

StatusOr<std::unique_ptr<TaggerContext>> Wd14Tagger::create_context(Reservation* from) const {
  const size_t bytes = static_cast<size_t>(max_batch()) * tensor_elements(spec_) * sizeof(float);
  return ImageModelContext::create(*model_, bytes, *ledger_, device_, owner_, from);
}

Status Wd14Tagger::infer(TaggerContext& ctx, std::span<const Tile* const> tiles,
                         std::vector<float>* probs) const {
  const size_t n = tiles.size();
  if (n == 0) {
    probs->clear();
    return {};
  }
  if (n > static_cast<size_t>(max_batch())) {
    return Status::invalid_argument("batch of {} over the tagger's max batch {}", n, max_batch());
  }
  const size_t per_image = tensor_elements(spec_);
  float* staging = ctx.staging();
  for (size_t i = 0; i < n; ++i) {
    const Tile& tile = *tiles[i];
    if (tile.width != spec_.width || tile.height != spec_.height || tile.type != Tile::Type::kU8) {
      return Status::invalid_argument("tile {} is {}x{}, the tagger wants {}x{} uint8", i, tile.width,
                                      tile.height, spec_.width, spec_.height);
    }
    write_tensor(tile, spec_, staging + i * per_image);
  }
  const int64_t bn = static_cast<int64_t>(n);
  engine::Shape shape = spec_.layout == TensorLayout::kNHWC
                            ? engine::Shape{bn, spec_.height, spec_.width, 3}
                            : engine::Shape{bn, 3, spec_.height, spec_.width};
  engine::Tensor input(engine::DataType::kFloat32, shape, static_cast<void*>(staging));
  SEER_RETURN_IF_ERROR(model_->run(ctx.exec(), {&input, 1}, ctx.outputs()));
  const engine::Tensor& out = ctx.outputs()[0];
  if (out.rank() != 2 || out.shape[0] != bn ||
      out.shape[1] != static_cast<int64_t>(num_classes())) {
    return Status::internal("tagger output has an unexpected shape (rank {})", out.rank());
  }
  probs->resize(n * num_classes());
  std::memcpy(probs->data(), out.data<float>(), probs->size() * sizeof(float));
  return {};
}

StatusOr<std::vector<TagResult>> Wd14Tagger::tag(TaggerContext& ctx,
                                                 std::span<const Tile* const> tiles,
                                                 const TagOptions& options) const {
  std::vector<float> probs;
  SEER_RETURN_IF_ERROR(infer(ctx, tiles, &probs));
  std::vector<TagResult> results;
  results.reserve(tiles.size());
  const size_t c = num_classes();
  for (size_t i = 0; i < tiles.size(); ++i) {
    SEER_ASSIGN_OR_RETURN(TagResult r,
                          postprocess_tags(std::span(probs).subspan(i * c, c), tags_, options));
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace seer
