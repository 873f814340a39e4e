// What a model family implements so that the runtime can discover, budget, load and serve it.
//
//   // In src/models/tagger/ (a family), once:
//   class TaggerBackend final : public ModelBackend { ... };
//   ModelFamily tagger_family() {
//     return {ModelKind::kTagger, "onnx",
//             [](const std::filesystem::path& dir) { return recognise_wd14(dir); },
//             [](const ModelDescriptor& d) -> StatusOr<std::unique_ptr<ModelBackend>> {
//               return TaggerBackend::create(d);
//             }};
//   }
//   registry.add(tagger_family());
//
//   // The manager, per load (never on a compute thread):
//   SEER_ASSIGN_OR_RETURN(auto backend, registry.create(descriptor));
//   SEER_ASSIGN_OR_RETURN(LoadPlan plan, backend->plan(max_batch));
//   SEER_ASSIGN_OR_RETURN(Reservation r, ledger.reserve(device, id, plan.total_bytes()));
//   SEER_RETURN_IF_ERROR(backend->load(r, max_batch));      // allocates only from r
//   auto results = backend->run(batch);                      // on the device's compute thread
//   backend->unload();                                       // frees every buffer
//
// Contract of a backend (one instance per loaded model):
// - create() reads only small files (headers, label lists); no weights, no arena.
// - plan() is exact: load() must fit in plan.total_bytes(); the ledger refuses anything more.
// - prepare() turns a request's encoded image into the tile the model wants. It is thread-safe,
//   needs no loaded weights, and runs on HTTP/decode threads before the request is queued.
// - run() is called by one compute thread at a time, with 1..max_batch requests, all prepared;
//   it returns one result per request, in order (a per-request error does not fail the batch).
// - unload() releases every Buffer; afterwards the ledger shows nothing for this owner.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "memory/ledger.h"
#include "runtime/inference_types.h"

namespace seer {

enum class ModelKind : uint8_t { kTagger, kClassifier, kVlm };
std::string_view to_string(ModelKind kind);  // "tagger", "classifier", "vlm"
std::optional<ModelKind> parse_model_kind(std::string_view text);

// A model folder as discovery sees it. `id` is the folder relative to the models dir
// ("wd-vit-tagger-v3", "models--SmilingWolf--wd-vit-tagger-v3/snapshots/<rev>").
struct ModelDescriptor {
  std::string id;
  std::string alias;            // "SmilingWolf/wd-vit-tagger-v3" for HF cache snapshots, else empty
  ModelKind kind = ModelKind::kTagger;
  std::string format;           // "onnx"
  std::filesystem::path path;   // absolute folder; only the runtime and backends read it
  uint64_t size_bytes = 0;      // sum of the model's files (symlinks followed)
  std::vector<std::string> files;  // the files that made it recognisable, relative to `path`
};

// The bytes a load will take on its device, known before a byte is allocated.
struct LoadPlan {
  uint64_t weight_bytes = 0;
  // Arena bytes for one execution context at a given batch size (monotonic in batch).
  std::function<uint64_t(int batch)> arena_bytes_at;
  int batch = 1;  // the batch the plan was made for

  uint64_t arena_bytes() const { return arena_bytes_at ? arena_bytes_at(batch) : 0; }
  uint64_t total_bytes() const { return weight_bytes + arena_bytes(); }
};

class ModelBackend {
 public:
  virtual ~ModelBackend() = default;

  // The largest batch the family supports or prefers (the budget may lower it).
  virtual int max_batch_limit() const = 0;
  // The plan for a given max batch. Cheap; may be called several times.
  virtual StatusOr<LoadPlan> plan(int max_batch) const = 0;
  // Allocates weights and arena from `reservation` (owner = the model id). `max_batch` is the
  // batch the plan was made for. On failure everything allocated so far is released.
  virtual Status load(Reservation& reservation, int max_batch) = 0;
  // Decodes `request`'s image into its tile (see the contract above). Thread-safe.
  virtual Status prepare(InferenceRequest& request) const = 0;
  // Runs a batch of prepared requests; one result per request, in order.
  virtual std::vector<StatusOr<InferenceResult>> run(std::span<InferenceRequest* const> batch) = 0;
  // Releases every buffer. Idempotent.
  virtual void unload() = 0;
};

// A model family: how to recognise its folders and how to make a backend for one.
struct ModelFamily {
  ModelKind kind = ModelKind::kTagger;
  std::string format = "onnx";
  // Looks at one folder (small files only); nullopt when it is not this family's.
  // Fills kind, format, files and size_bytes; the catalog sets id, alias and path.
  std::function<std::optional<ModelDescriptor>(const std::filesystem::path& dir)> recognise;
  // Null until the family's backend exists: such models are listed but cannot load.
  std::function<StatusOr<std::unique_ptr<ModelBackend>>(const ModelDescriptor&)> create;
};

// The families seer knows. Populated at startup (before the catalog's first scan), then read
// by several threads: add() is not thread-safe, everything else is.
class ModelFamilyRegistry {
 public:
  // Adds a family; a later family with the same kind replaces the earlier one (so a real
  // backend can replace a recognise-only entry).
  void add(ModelFamily family);
  // The first family that recognises `dir`.
  std::optional<ModelDescriptor> recognise(const std::filesystem::path& dir) const;
  // A backend for the descriptor's kind. Unsupported when the kind has no backend yet.
  StatusOr<std::unique_ptr<ModelBackend>> create(const ModelDescriptor& descriptor) const;
  bool has_backend(ModelKind kind) const;
  const std::vector<ModelFamily>& families() const { return families_; }

 private:
  std::vector<ModelFamily> families_;
};

// Recognisers for the folder layouts seer knows, with no backend attached (families plug theirs
// in by adding a ModelFamily of the same kind):
// - tagger: model.onnx + selected_tags.csv (the SmilingWolf WD14 layout);
// - classifier: an nsfwjs TF.js folder or an HF image classifier (runtime/classifier_backend.h,
//   recognise_classifier).
std::optional<ModelDescriptor> recognise_wd14_tagger(const std::filesystem::path& dir);
// The size of a regular file (symlinks followed, as in the HF cache where snapshot files point
// into blobs/); nullopt for a missing file or anything else. What the recognisers add up into
// ModelDescriptor::size_bytes.
std::optional<uint64_t> file_size_of(const std::filesystem::path& p);
// A registry with the recognise-only families above.
ModelFamilyRegistry default_family_registry();

}  // namespace seer
