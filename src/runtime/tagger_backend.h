// The WD14 tagger family for the runtime: a ModelBackend over models/tagger's Wd14Tagger.
//
//   ModelFamilyRegistry families = default_family_registry();
//   families.add(tagger_family(ledger));   // replaces the recognise-only tagger entry
//
// plan(b) is the engine's own measurement (engine::Model::plan_bytes at batch b: weights and
// arena) plus the tagger's float input staging (b × H × W × 3 × 4 bytes).
// load() draws every byte (weights, arena, staging) from the manager's reservation, under its
// owner and device (engine::LoadOptions::reservation), so no other load can take them meanwhile.
// prepare() decodes the request's image with the image layer's limits (DecodeLimits defaults)
// into a WD14 tile (image/preprocess.h preset "wd14" at the graph's size); errors keep their
// codes (PayloadTooLarge, InvalidArgument/Unsupported for a bad image).
// run() is one engine call per batch; each request's TagParams become its own TagOptions
// (post-processing is per row, so mixed thresholds in a batch are fine).
//
// Thread-safety: as ModelBackend requires (prepare() is const and thread-safe; run() on one
// compute thread at a time). The ledger must outlive every backend made by the family.
#pragma once

#include "memory/ledger.h"
#include "models/tagger/tag_postprocess.h"
#include "runtime/model_backend.h"
#include "runtime/plan_cache.h"

namespace seer {

// `ledger` owns the tiles prepare() makes and the tagger's buffers; `choice` is the engine
// precision and weight mode every tagger of the family loads with (and is planned with).
ModelFamily tagger_family(MemoryLedger& ledger, engine::EngineChoice choice = {});

// A tagger's TagResult as the runtime's TagOutput (the same tags, names and scores, and text).
TagOutput to_tag_output(TagResult result);

}  // namespace seer
