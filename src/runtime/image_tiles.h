// The image side of a model backend: decode a request's bytes into the model's tile once
// (prepare), and lend the prepared tiles of a batch to the engine for one call (run).
//
//   SEER_RETURN_IF_ERROR(prepare_image_tile(image_of(request), spec, Tile::Type::kU8, ledger));
//   ...
//   LentTiles lent(batch, Tile::Type::kU8, bytes_per_sample);
//   Status s = model->infer(ctx, lent.tiles(), &out);   // engine row r is batch item lent.item(r)
//   // lent's destructor gives every tile back to its request
//
// The tile is owned by "system" (tag decode), not by the model: it belongs to the request and
// may outlive an unload. LentTiles moves the pixel buffers out of the requests (no copies) and
// back when it goes out of scope, so the requests keep their tiles even if the engine fails.
// Not thread-safe; the requests must outlive the LentTiles.
#pragma once

#include <span>
#include <vector>

#include "core/status.h"
#include "image/preprocess.h"
#include "runtime/inference_types.h"

namespace seer {

// Exact decode of img.encoded (default limits) into a tile of `spec`; the tile must come out as
// `type` (a wrong type is Internal). Frees the encoded bytes. Nothing to do when already prepared.
Status prepare_image_tile(ImageInput& img, const PreprocessSpec& spec, Tile::Type type, MemoryLedger& ledger);

class LentTiles {
 public:
  // Lends the tile of every batch item that holds a 3-channel tile of width x height x 3 x
  // bytes_per_sample bytes; the others get error(i) (Internal: not prepared for this model).
  LentTiles(std::span<InferenceRequest* const> batch, Tile::Type type, size_t bytes_per_sample);
  ~LentTiles();
  LentTiles(const LentTiles&) = delete;
  LentTiles& operator=(const LentTiles&) = delete;

  // The engine's inputs, one per lent tile, in batch order.
  const std::vector<const Tile*>& tiles() const { return ptrs_; }
  // The engine row of batch item i (valid only when error(i) is OK).
  size_t row(size_t i) const { return row_of_[i]; }
  const Status& error(size_t i) const { return errors_[i]; }

 private:
  std::span<InferenceRequest* const> batch_;
  std::vector<Tile> tiles_;
  std::vector<const Tile*> ptrs_;
  std::vector<size_t> row_of_;
  std::vector<Status> errors_;
};

}  // namespace seer
