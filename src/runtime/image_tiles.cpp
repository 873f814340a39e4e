#include "runtime/image_tiles.h"

#include <cstdint>

namespace seer {

Status prepare_image_tile(ImageInput& img, const PreprocessSpec& spec, Tile::Type type, MemoryLedger& ledger) {
  if (img.tile) return {};
  LoadOptions lo;  // exact decode, default DecodeLimits
  const auto* bytes = reinterpret_cast<const uint8_t*>(img.encoded.data());
  SEER_ASSIGN_OR_RETURN(Tile tile, load_tile(std::span(bytes, img.encoded.size()), spec, lo, ledger));
  if (tile.type != type) return Status::internal("the decoded tile has the wrong sample type for this model");
  // ImageTile carries bytes; for float tiles they are width x height x 3 float32 samples (the
  // backend knows the type from its spec).
  img.tile = ImageTile{tile.width, tile.height, 3, std::move(tile.pixels)};
  img.encoded.clear();
  img.encoded.shrink_to_fit();
  return {};
}

LentTiles::LentTiles(std::span<InferenceRequest* const> batch, Tile::Type type, size_t bytes_per_sample)
    : batch_(batch), tiles_(batch.size()), row_of_(batch.size(), SIZE_MAX), errors_(batch.size()) {
  for (size_t i = 0; i < batch.size(); ++i) {
    ImageInput& img = image_of(*batch[i]);
    if (!img.tile || img.tile->channels != 3 ||
        img.tile->pixels.size() != static_cast<size_t>(img.tile->width) * img.tile->height * 3 * bytes_per_sample) {
      errors_[i] = Status::internal("request {} was not prepared for this model", i);
      continue;
    }
    tiles_[i].width = img.tile->width;
    tiles_[i].height = img.tile->height;
    tiles_[i].type = type;
    tiles_[i].pixels = std::move(img.tile->pixels);
    row_of_[i] = ptrs_.size();
    ptrs_.push_back(&tiles_[i]);
  }
}

LentTiles::~LentTiles() {
  for (size_t i = 0; i < batch_.size(); ++i) {
    if (row_of_[i] != SIZE_MAX) image_of(*batch_[i]).tile->pixels = std::move(tiles_[i].pixels);
  }
}

}  // namespace seer
