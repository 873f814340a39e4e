#include "runtime/testing/fake_backend.h"

#include "core/units.h"

#include <unistd.h>

#include <charconv>
#include <chrono>
#include <fstream>
#include <cstring>
#include <thread>

namespace seer {

void FakeGate::close() {
  std::lock_guard lock(mu_);
  open_ = false;
}

void FakeGate::open() {
  {
    std::lock_guard lock(mu_);
    open_ = true;
  }
  cv_.notify_all();
}

void FakeGate::wait() {
  std::unique_lock lock(mu_);
  waiting_++;
  cv_.wait(lock, [&] { return open_; });
  waiting_--;
}

FakeBackend::FakeBackend(std::string id, FakeSpec spec, std::shared_ptr<FakeStats> stats)
    : id_(std::move(id)), spec_(std::move(spec)), stats_(std::move(stats)) {}

StatusOr<LoadPlan> FakeBackend::plan(int max_batch) const {
  LoadPlan p;
  p.weight_bytes = spec_.weight_bytes;
  const uint64_t base = spec_.arena_bytes_base, per = spec_.arena_bytes_per_item;
  p.arena_bytes_at = [base, per](int b) { return base + per * static_cast<uint64_t>(b); };
  p.batch = max_batch;
  return p;
}

namespace {
void touch(Buffer& b) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  auto* p = b.as<unsigned char>();
  for (size_t i = 0; i < b.size(); i += page) p[i] = 1;
}
}  // namespace

Status FakeBackend::load(Reservation& reservation, int max_batch) {
  if (!spec_.fail_load.empty()) return Status::internal("{}", spec_.fail_load);
  SEER_ASSIGN_OR_RETURN(LoadPlan p, plan(max_batch));
  SEER_ASSIGN_OR_RETURN(weights_, reservation.allocate(MemoryTag::kWeights, p.weight_bytes));
  auto arena = reservation.allocate(MemoryTag::kArena, p.arena_bytes());
  if (!arena.ok()) {
    weights_.reset();
    return arena.status();
  }
  arena_ = std::move(arena).value();
  if (spec_.touch_pages) {
    touch(weights_);
    touch(arena_);
  }
  loaded_batch_ = max_batch;
  stats_->loads++;
  return {};
}

Status FakeBackend::prepare(InferenceRequest& request) const {
  ImageInput& img = image_of(request);
  if (img.encoded.empty()) return Status::invalid_argument("empty image");
  if (img.encoded == "bad-image") return Status::invalid_argument("cannot decode image: bad-image");
  // The fake keeps the bytes (they are its answer) and records a 1-pixel-high "tile".
  img.tile = ImageTile{static_cast<int>(img.encoded.size()), 1, 3, Buffer()};
  return {};
}

std::vector<StatusOr<InferenceResult>> FakeBackend::run(std::span<InferenceRequest* const> batch) {
  stats_->running++;
  stats_->gate.wait();
  {
    std::lock_guard lock(stats_->mu);
    stats_->batch_sizes.push_back(static_cast<int>(batch.size()));
  }
  if (spec_.run_sleep_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(spec_.run_sleep_ms));
  std::vector<StatusOr<InferenceResult>> out;
  out.reserve(batch.size());
  for (InferenceRequest* r : batch) {
    const std::string text = "fake:" + image_of(*r).encoded;
    if (std::holds_alternative<TagRequest>(*r)) {
      TagOutput t;
      t.text = text;
      t.general.push_back({text, 0.5f});
      t.ratings.push_back({"general", 0.9f});
      out.emplace_back(InferenceResult(std::move(t)));
    } else if (std::holds_alternative<ClassifyRequest>(*r)) {
      ClassifyOutput c;
      c.label = text;
      c.score = 1.0f;
      c.predictions.push_back({text, 1.0f});
      out.emplace_back(InferenceResult(std::move(c)));
    } else {
      auto& tr = std::get<TextRequest>(*r);
      if (tr.on_token) tr.on_token(text);
      out.emplace_back(InferenceResult(TextOutput{text, 1}));
    }
  }
  stats_->batches++;
  stats_->requests += static_cast<int>(batch.size());
  stats_->running--;
  return out;
}

void FakeBackend::unload() {
  if (loaded_batch_ == 0) return;
  weights_.reset();
  arena_.reset();
  loaded_batch_ = 0;
  stats_->unloads++;
}

StatusOr<FakeSpec> read_fake_spec(const std::filesystem::path& file, FakeSpec spec) {
  std::ifstream in(file);
  if (!in) return Status::not_found("cannot read {}", file.string());
  std::string word;
  while (in >> word) {
    const size_t eq = word.find('=');
    if (eq == std::string::npos) return Status::invalid_argument("{}: '{}' is not key=value", file.string(), word);
    const std::string key = word.substr(0, eq), value = word.substr(eq + 1);
    if (key == "fail_load") {
      spec.fail_load = value;
      continue;
    }
    if (key == "weights" || key == "arena_base" || key == "arena_per_item") {
      SEER_ASSIGN_OR_RETURN(uint64_t n, parse_bytes(value));
      (key == "weights" ? spec.weight_bytes : key == "arena_base" ? spec.arena_bytes_base
                                                                   : spec.arena_bytes_per_item) = n;
      continue;
    }
    int n = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || ptr != value.data() + value.size()) {
      return Status::invalid_argument("{}: '{}' is not an integer", file.string(), word);
    }
    if (key == "max_batch") spec.max_batch = n;
    else if (key == "sleep_ms") spec.run_sleep_ms = n;
    else return Status::invalid_argument("{}: unknown key '{}'", file.string(), key);
  }
  return spec;
}

ModelFamily fake_family(ModelKind kind, FakeSpec spec, std::shared_ptr<FakeStats> stats,
                        std::string marker) {
  ModelFamily f;
  f.kind = kind;
  f.format = "fake";
  f.recognise = [kind, marker](const std::filesystem::path& dir) -> std::optional<ModelDescriptor> {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(dir / marker, ec)) return std::nullopt;
    ModelDescriptor d;
    d.kind = kind;
    d.format = "fake";
    d.files = {marker};
    d.size_bytes = std::filesystem::file_size(dir / marker, ec);
    return d;
  };
  f.create = [spec, stats, marker](const ModelDescriptor& d) -> StatusOr<std::unique_ptr<ModelBackend>> {
    SEER_ASSIGN_OR_RETURN(FakeSpec s, read_fake_spec(d.path / marker, spec));
    return std::unique_ptr<ModelBackend>(std::make_unique<FakeBackend>(d.id, s, stats));
  };
  return f;
}

}  // namespace seer
