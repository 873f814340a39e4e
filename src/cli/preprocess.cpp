// `seer preprocess IMAGE --size 448 --mode wd14 --out FILE.npy`: decode and preprocess one
// image exactly as the model pipeline does and write the float32 tensor ([1,S,S,3] NHWC or
// [1,3,S,S] NCHW, per the mode) so any difference can be checked from outside (numpy, Pillow).
// With several images, --out is a directory and each tensor goes to <out>/<file name>.npy
// (one process for a whole fixture set). Exit 1 if any image failed (each error on stderr).
#include "image/preprocess.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <vector>

#include "cli/commands.h"
#include "engine/npy.h"
#include "memory/ledger.h"

namespace seer::cli {

namespace {

struct PreprocessArgs {
  std::vector<std::string> images;
  std::string out;
  std::string mode = "wd14";
  int size = 448;
  bool fast = false;
  bool no_orientation = false;
  bool tile = false;
};

int run_one(const PreprocessArgs& a, const PreprocessSpec& spec_in, const std::string& image,
            const std::string& out_path) {
  const PreprocessSpec* spec = &spec_in;
  MemoryLedger ledger;
  LoadOptions opt;
  opt.fast = a.fast;
  opt.decode.apply_orientation = !a.no_orientation;
  auto tile = load_tile_file(image, *spec, opt, ledger);
  if (!tile.ok()) {
    std::fprintf(stderr, "seer preprocess: %s: %s\n", image.c_str(),
                 tile.status().to_string().c_str());
    return 1;
  }
  std::vector<float> tensor(tensor_elements(*spec));
  std::vector<int64_t> shape;
  if (a.tile) {  // the tile itself (RGB, HWC, unscaled), for debugging a mismatch
    for (size_t i = 0; i < tensor.size(); ++i) {
      tensor[i] = tile->type == Tile::Type::kU8 ? tile->u8()[i] : tile->f32()[i];
    }
    shape = {spec->height, spec->width, 3};
  } else {
    write_tensor(*tile, *spec, tensor.data());
    shape = spec->layout == TensorLayout::kNHWC
                ? std::vector<int64_t>{1, spec->height, spec->width, 3}
                : std::vector<int64_t>{1, 3, spec->height, spec->width};
  }
  Status st = engine::write_npy(
      out_path, engine::Tensor(engine::DataType::kFloat32, engine::Shape::from(shape), tensor.data()));
  if (!st.ok()) {
    std::fprintf(stderr, "seer preprocess: %s\n", st.to_string().c_str());
    return 1;
  }
  return 0;
}

int run_preprocess(const PreprocessArgs& a) {
  auto spec = preprocess_spec(a.mode, a.size);
  if (!spec.ok()) {
    std::fprintf(stderr, "seer preprocess: %s\n", spec.status().to_string().c_str());
    return 2;
  }
  if (a.images.size() == 1) return run_one(a, *spec, a.images[0], a.out);
  int rc = 0;
  for (const std::string& image : a.images) {
    const std::string name = std::filesystem::path(image).filename().string();
    rc = std::max(
        rc, run_one(a, *spec, image, (std::filesystem::path(a.out) / (name + ".npy")).string()));
  }
  return rc;
}

}  // namespace

void register_preprocess(CLI::App& app, CliContext& ctx) {
  auto args = std::make_shared<PreprocessArgs>();
  CLI::App* cmd = app.add_subcommand(
      "preprocess", "decode and preprocess an image into a model's input tensor (.npy)");
  cmd->add_option("image", args->images, "image file(s) (JPEG, PNG, WebP, GIF, TIFF, BMP, HEIF)")
      ->required();
  cmd->add_option("--out", args->out,
                  "output .npy (float32); a directory when several images are given")
      ->required();
  cmd->add_option("--mode", args->mode, "wd14 | nsfwjs | vit | imagenet")->capture_default_str();
  cmd->add_option("--size", args->size, "model input side in pixels")->capture_default_str();
  cmd->add_flag("--fast", args->fast, "shrink-on-load for large JPEG/WebP (not bit-exact)");
  cmd->add_flag("--no-orientation", args->no_orientation, "ignore EXIF orientation");
  cmd->add_flag("--tile", args->tile, "write the RGB tile [S,S,3] instead of the tensor");
  cmd->callback([&ctx, args] { ctx.exit_code = run_preprocess(*args); });
}

}  // namespace seer::cli
